// Test fixture: leaks records into a global slice and goroutines blocked on
// channels nobody writes to, and writes heap and goroutine profiles (gzipped
// profile.proto) before and after. Standard library only.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
)

type Record struct {
	ID      int
	Payload [1024]byte
}

var records []*Record

// leakRecords appends records to a global slice that is never trimmed.
func leakRecords(n int) {
	for i := 0; i < n; i++ {
		records = append(records, &Record{ID: i})
	}
}

// waitForReply blocks forever: nobody sends on ch.
func waitForReply(ch chan int) {
	<-ch
}

func startWorkers(n int) {
	for i := 0; i < n; i++ {
		go waitForReply(make(chan int))
	}
}

// churn allocates garbage that does not survive.
func churn() int {
	total := 0
	for i := 0; i < 1000; i++ {
		b := make([]byte, 4096)
		total += len(b)
	}
	return total
}

func write(kind, dir, name string) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup(kind).WriteTo(f, 0); err != nil {
		panic(err)
	}
}

func main() {
	runtime.MemProfileRate = 1 // record every allocation: exact figures
	dir := os.Args[1]
	leakRecords(1000)
	startWorkers(5)
	churn()
	write("heap", dir, "heap1.pb.gz")
	write("goroutine", dir, "goroutine1.pb.gz")
	leakRecords(20000)
	startWorkers(200)
	churn()
	write("heap", dir, "heap2.pb.gz")
	write("goroutine", dir, "goroutine2.pb.gz")
	fmt.Println(len(records))
}
