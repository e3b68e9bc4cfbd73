package cache

import "sync"

const maxEntries = 1000

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
	if len(results) >= maxEntries {
		for k := range results {
			delete(results, k)
			break
		}
	}
	v := compute(key)
	results[key] = v
	return v
}

var sessions = make(map[string]*Session)

func Open(id string) *Session {
	s := &Session{ID: id}
	sessions[id] = s
	return s
}

func Close(id string) {
	delete(sessions, id)
}

var defaults = map[string]string{"color": "blue"}

func Default(k string) string {
	return defaults[k]
}

func local(keys []string) map[string]int {
	m := map[string]int{}
	for i, k := range keys {
		m[k] = i
	}
	return m
}

type Session struct{ ID string }

func compute(key string) []byte { return []byte(key) }
