package poll

import (
	"net/http"
	"time"
)

func LongPoll(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string)
	subscribe(r.URL.Query().Get("topic"), ch)
	go func() {
		select {
		case msg := <-ch:
			w.Write([]byte(msg))
		case <-r.Context().Done():
			unsubscribe(ch)
		}
	}()
}

func Fetch(id string) (string, error) {
	result := make(chan string, 1)
	go func() {
		result <- slowLookup(id)
	}()
	select {
	case v := <-result:
		return v, nil
	case <-time.After(2 * time.Second):
		return "", errTimeout
	}
}

func Wait(done chan struct{}) {
	finished := make(chan bool)
	go func() {
		<-done
		finished <- true
	}()
	<-finished
}
