package watch

import (
	"context"
	"time"
)

func Watch(ctx context.Context, path string) {
	for range time.Tick(time.Second) { // expect: uncleared-timer
		if ctx.Err() != nil {
			return
		}
		check(path)
	}
}

func Poll(ctx context.Context) {
	t := time.NewTicker(time.Second) // expect: uncleared-timer
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			poll()
		}
	}
}

func check(path string) {}
func poll()             {}
