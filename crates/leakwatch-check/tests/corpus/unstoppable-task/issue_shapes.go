package poll

import (
	"net/http"
	"time"
)

func LongPoll(w http.ResponseWriter, r *http.Request) {
	ch := make(chan string)
	subscribe(r.URL.Query().Get("topic"), ch)
	go func() { // expect: unstoppable-task
		msg := <-ch
		w.Write([]byte(msg))
	}()
	time.Sleep(30 * time.Second)
}

func Fetch(id string) (string, error) {
	result := make(chan string)
	go func() { // expect: unstoppable-task
		result <- slowLookup(id)
	}()
	select {
	case v := <-result:
		return v, nil
	case <-time.After(2 * time.Second):
		return "", errTimeout
	}
}
