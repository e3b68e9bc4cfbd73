package gateway

import (
	"net/http"
	"os"
	"time"
)

var sessions = map[string]time.Time{}
var audit []string

func Login(w http.ResponseWriter, r *http.Request) {
	sessions[r.FormValue("user")] = time.Now() // expect: global-accumulator
	audit = append(audit, r.RemoteAddr) // expect: global-accumulator
	f, err := os.Open("/etc/motd") // expect: unclosed-resource
	if err != nil {
		return
	}
	_ = f
	resp, err := http.DefaultClient.Get("http://auth/check") // expect: unreleased-connection
	if err == nil {
		w.WriteHeader(resp.StatusCode)
	}
}

func Logout(w http.ResponseWriter, r *http.Request) {
	delete(sessions, r.FormValue("user"))
}

func Ticker() {
	t := time.NewTicker(time.Second) // expect: uncleared-timer
	for range t.C {
		flush()
	}
}

func Lookup(key string) string {
	out := make(chan string)
	go func() { // expect: unstoppable-task
		out <- slow(key)
	}()
	select {
	case v := <-out:
		return v
	case <-time.After(time.Second):
		return ""
	}
}
