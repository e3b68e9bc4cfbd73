package server

import (
	"context"
	"net/http"
)

func Handle(ctx context.Context, updates <-chan Update) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				apply(u)
			}
		}
	}()
}

func Consume(ch <-chan Job) {
	go func() {
		for j := range ch {
			run(j)
		}
	}()
}

func Worker(quit chan struct{}) {
	go func() {
	loop:
		for {
			select {
			case <-quit:
				break loop
			default:
				step()
			}
		}
	}()
}

func main() {
	go func() {
		for {
			serve()
		}
	}()
	http.ListenAndServe(":8080", nil)
}

type Update struct{ ID int }
type Job struct{ ID int }

func apply(u Update) {}
func run(j Job)      {}
func step()          {}
func serve()         {}
