package service

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"sync"
	"time"
)

type Service struct {
	db *sql.DB
}

var (
	mu       sync.Mutex
	profiles = map[string][]byte{}
	recent   []string
)

func (s *Service) Profile(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	mu.Lock()
	p, ok := profiles[id]
	if !ok {
		p = fetchProfile(id)
		profiles[id] = p // expect: unbounded-cache
	}
	mu.Unlock()
	w.Write(p)
}

func (s *Service) Track(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	recent = append(recent, r.URL.Path)
	if len(recent) > 100 {
		recent = recent[1:]
	}
	mu.Unlock()
}

func (s *Service) Export(w http.ResponseWriter, r *http.Request) {
	rows, err := s.db.QueryContext(r.Context(), "SELECT id, body FROM messages") // expect: unbounded-results, unreleased-connection
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	for rows.Next() {
		var id int
		var body string
		rows.Scan(&id, &body)
		io.WriteString(w, body)
	}
}

func (s *Service) Stream(w http.ResponseWriter, r *http.Request) {
	events := make(chan string)
	go func() { // expect: unstoppable-task
		for {
			e := <-events
			io.WriteString(w, e)
		}
	}()
	events <- "hello"
}

func (s *Service) StreamFixed(ctx context.Context, w http.ResponseWriter) {
	events := make(chan string)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-events:
				io.WriteString(w, e)
			case <-t.C:
				io.WriteString(w, "ping")
			}
		}
	}()
}

func (s *Service) Proxy(w http.ResponseWriter, r *http.Request) {
	resp, err := http.Get("http://backend/" + r.URL.Path) // expect: unreleased-connection
	if err != nil {
		return
	}
	w.WriteHeader(resp.StatusCode)
}

func fetchProfile(id string) []byte { return []byte(id) }
