package cache

import "sync"

var (
	mu      sync.Mutex
	results = map[string][]byte{}
)

func Lookup(key string) []byte {
	mu.Lock()
	defer mu.Unlock()
	if v, ok := results[key]; ok {
		return v
	}
	v := compute(key)
	results[key] = v // expect: unbounded-cache
	return v
}

var thumbnails sync.Map

func Thumbnail(path string) []byte {
	if v, ok := thumbnails.Load(path); ok {
		return v.([]byte)
	}
	img := render(path)
	thumbnails.Store(path, img) // expect: unbounded-cache
	return img
}

func compute(key string) []byte { return []byte(key) }
func render(path string) []byte { return []byte(path) }
