package audit

import "net/http"

type Event struct {
	Path string
	User string
}

var events []Event

const maxEvents = 1000

func Record(r *http.Request) {
	events = append(events, Event{Path: r.URL.Path})
	if len(events) > maxEvents {
		events = events[len(events)-maxEvents:]
	}
}

var pending []string

func Add(id string) {
	pending = append(pending, id)
}

func Drain() []string {
	out := pending
	pending = nil
	return out
}

func collect(xs []int) []int {
	var out []int
	for _, x := range xs {
		out = append(out, x*2)
	}
	return out
}
