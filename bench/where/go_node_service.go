// Benchmark target for bench/where/go_node.sh: an HTTP service with
// net/http/pprof. /work encodes a small JSON document, keeps the last 4096
// results in a cache and leaks one small record per request (a slow leak,
// so the heap profile has stacks that change). /stats reports the longest
// scheduling delay since the last /stats: a goroutine asks to wake every
// millisecond and records how late it woke, which a stop-the-world pause
// (and CPU contention) makes it.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	ID    int               `json:"id"`
	Name  string            `json:"name"`
	Tags  []string          `json:"tags"`
	Attrs map[string]string `json:"attrs"`
}

var (
	mu      sync.Mutex
	cache   = map[int][]byte{}
	ring    [4096]int
	ringPos int
	leaked  [][]byte
	counter int64
	maxLate int64 // nanoseconds
)

func work(w http.ResponseWriter, r *http.Request) {
	id := int(atomic.AddInt64(&counter, 1))
	res := result{ID: id, Name: fmt.Sprintf("item-%d", id), Tags: []string{"a", "b", "c"},
		Attrs: map[string]string{"k": "v", "n": fmt.Sprint(id)}}
	b, _ := json.Marshal(res)
	mu.Lock()
	delete(cache, ring[ringPos])
	cache[id] = b
	ring[ringPos] = id
	ringPos = (ringPos + 1) % len(ring)
	if id%16 == 0 {
		leaked = append(leaked, make([]byte, 256))
	}
	mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func stats(w http.ResponseWriter, r *http.Request) {
	late := atomic.SwapInt64(&maxLate, 0)
	fmt.Fprintf(w, "%d\n", late/1000)
}

func lateness() {
	const tick = time.Millisecond
	for {
		t0 := time.Now()
		time.Sleep(tick)
		late := int64(time.Since(t0) - tick)
		for {
			old := atomic.LoadInt64(&maxLate)
			if late <= old || atomic.CompareAndSwapInt64(&maxLate, old, late) {
				break
			}
		}
	}
}

func main() {
	go lateness()
	http.HandleFunc("/work", work)
	http.HandleFunc("/stats", stats)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, nil)
}
