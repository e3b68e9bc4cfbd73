package hooks

import "os"

var hooks []func() int

func init() {
	data, _ := os.ReadFile("/etc/app/seed.bin")
	n := len(data)
	AddHook(func() int { return n })
}

func AddHook(h func() int) {
	hooks = append(hooks, h)
}

func Run() int {
	total := 0
	for _, h := range hooks {
		total += h()
	}
	return total
}
