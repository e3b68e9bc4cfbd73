package track

import "net/http"

var visits []string
var middlewares []func(http.Handler) http.Handler

func Visit(w http.ResponseWriter, r *http.Request) {
	visits = append(visits, r.URL.Path)
	if len(visits) > 1000 {
		visits = visits[500:]
	}
}

func Use(m func(http.Handler) http.Handler) {
	middlewares = append(middlewares, m)
}

func init() {
	Use(logging)
	Use(recovery)
}
