package track

import (
	"fmt"
	"net/http"
)

var visits []string
var lastSeen = map[string]int64{}

func Visit(w http.ResponseWriter, r *http.Request) {
	visits = append(visits, r.URL.Path) // expect: global-accumulator
	lastSeen[r.RemoteAddr] = now() // expect: global-accumulator
	fmt.Fprintf(w, "%d visits", len(visits))
}
