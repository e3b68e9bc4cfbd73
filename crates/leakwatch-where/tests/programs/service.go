package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"time"
)

type session struct {
	id      int
	payload []byte
}

var (
	mu       sync.Mutex
	sessions []*session
	cache    = map[int][]byte{}
	ring     [cacheMax]int
	ringPos  int
	jobs     = make(chan int)
	sink     int
)

const cacheMax = 1024

// rememberSession leaks: every request's session is kept forever.
func rememberSession(id int) {
	s := &session{id: id, payload: make([]byte, 4096)}
	mu.Lock()
	sessions = append(sessions, s)
	mu.Unlock()
}

// cachePut keeps the last cacheMax entries: it fills, then holds.
func cachePut(id int) {
	b := make([]byte, 8192)
	mu.Lock()
	delete(cache, ring[ringPos])
	cache[id] = b
	ring[ringPos] = id
	ringPos = (ringPos + 1) % cacheMax
	mu.Unlock()
}

// churn allocates request-scoped garbage.
func churn() {
	for i := 0; i < 16; i++ {
		b := make([]byte, 8192)
		sink += len(b)
	}
}

// waitForReply leaks a goroutine: nobody ever sends on ch.
func waitForReply(ch chan int) {
	<-ch
}

// backgroundFlush is short-lived: goroutines that come and go.
func backgroundFlush() {
	time.Sleep(20 * time.Millisecond)
}

// poolWorker: a fixed pool of workers, waiting for jobs.
func poolWorker() {
	for j := range jobs {
		sink += j
	}
}

func handleWork(w http.ResponseWriter, r *http.Request) {
	n := 0
	fmt.Sscan(r.URL.Query().Get("n"), &n)
	rememberSession(n)
	cachePut(n)
	churn()
	go backgroundFlush()
	if n%50 == 0 {
		go waitForReply(make(chan int))
	}
	io.WriteString(w, "ok")
}

func main() {
	withPprof := flag.Bool("pprof", true, "serve net/http/pprof")
	exitAfter := flag.Duration("exit-after", 0, "exit after this long")
	flag.Parse()
	for i := 0; i < 8; i++ {
		go poolWorker()
	}
	app := http.NewServeMux()
	app.HandleFunc("/work", handleWork)
	app.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go http.Serve(appLn, app)
	pprofPort := 0
	if *withPprof {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		pprofPort = ln.Addr().(*net.TCPAddr).Port
		go http.Serve(ln, nil)
	}
	appPort := appLn.Addr().(*net.TCPAddr).Port
	if *exitAfter > 0 {
		go func() { time.Sleep(*exitAfter); os.Exit(0) }()
	}
	go func() {
		client := &http.Client{}
		for i := 1; ; i++ {
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/work?n=%d", appPort, i))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			time.Sleep(4 * time.Millisecond)
		}
	}()
	fmt.Printf("ready app=%d pprof=%d\n", appPort, pprofPort)
	select {}
}
