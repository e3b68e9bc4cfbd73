package audit

import "net/http"

type Event struct {
	Path string
	User string
}

var events []Event

var seen = map[string]bool{}

func Record(r *http.Request) {
	events = append(events, Event{Path: r.URL.Path, User: r.Header.Get("X-User")}) // expect: global-accumulator
}

func Mark(id string) {
	seen[id] = true // expect: global-accumulator
}
