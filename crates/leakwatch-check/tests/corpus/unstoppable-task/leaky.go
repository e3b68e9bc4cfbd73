package server

import (
	"net/http"
	"time"
)

func Handle(w http.ResponseWriter, r *http.Request) {
	updates := make(chan Update)
	go func() { // expect: unstoppable-task
		for {
			u := <-updates
			apply(u)
		}
	}()
	updates <- parse(r)
}

func pump(c *Client) {
	for {
		msg := c.queue.Pop()
		c.conn.Write(msg)
	}
}

func Subscribe(c *Client) {
	go pump(c) // expect: unstoppable-task
}

func Watch(path string) {
	go func() { // expect: unstoppable-task
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for range ticker.C {
			check(path)
		}
	}()
}
