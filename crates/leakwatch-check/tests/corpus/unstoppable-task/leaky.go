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

type Update struct{ ID int }

type queue struct{ items [][]byte }

func (q *queue) Pop() []byte { return nil }

type conn struct{}

func (c *conn) Write(b []byte) (int, error) { return len(b), nil }

type Client struct {
	queue *queue
	conn  *conn
}

func apply(u Update)               {}
func parse(r *http.Request) Update { return Update{} }
func check(path string)            {}
