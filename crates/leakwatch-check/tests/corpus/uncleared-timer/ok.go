package watch

import (
	"context"
	"time"
)

func Poll(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			poll()
		}
	}
}

func Wait(d time.Duration) {
	timer := time.NewTimer(d)
	<-timer.C
}

func main() {
	for range time.Tick(time.Minute) {
		report()
	}
}

func poll()   {}
func report() {}
