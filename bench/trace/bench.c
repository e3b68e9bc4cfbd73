/* malloc-heavy benchmark for `leakwatch trace` vs heaptrack.
   usage: bench single|threads|dlopen N [plugin.so]
   N small allocations through a ~10-deep call chain, a bounded working set
   of 1024 live blocks, and one deliberate leak every 100000 allocations (so
   both tracers must report the same leaked bytes). Build with -O2
   -fomit-frame-pointer: unwinding must use DWARF CFI. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile sink;
typedef void (*work_fn)(long, long);

#define SLOTS 1024

__attribute__((noinline)) static void alloc_one(void **slots, long i) {
    long k = i & (SLOTS - 1);
    free(slots[k]);
    slots[k] = malloc(16 + (i * 37) % 240);
    if (i % 100000 == 99999) sink = malloc(100 + i % 7); /* the leak */
}

#define LEVEL(name, next) \
    __attribute__((noinline)) static void name(void **s, long i, int d) { next(s, i, d + 1); sink = s; }
__attribute__((noinline)) static void l9(void **s, long i, int d) { (void)d; alloc_one(s, i); sink = s; }
LEVEL(l8, l9) LEVEL(l7, l8) LEVEL(l6, l7) LEVEL(l5, l6) LEVEL(l4, l5)
LEVEL(l3, l4) LEVEL(l2, l3) LEVEL(l1, l2) LEVEL(l0, l1)

void bench_work(long start, long n) {
    void **slots = calloc(SLOTS, sizeof(void *));
    for (long i = start; i < start + n; i++) {
        /* two distinct call paths, so stacks differ */
        if (i & 1) l0(slots, i, 0); else l2(slots, i, 0);
    }
    for (int k = 0; k < SLOTS; k++) free(slots[k]);
    free(slots);
}

struct job { work_fn fn; long start, n; };
static void *run_job(void *p) { struct job *j = p; j->fn(j->start, j->n); return 0; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "single";
    long n = argc > 2 ? atol(argv[2]) : 20000000;
    work_fn fn = bench_work;
    if (!strcmp(mode, "dlopen")) {
        void *h = dlopen(argc > 3 ? argv[3] : "./libbenchplugin.so", RTLD_NOW);
        if (!h) { fprintf(stderr, "%s\n", dlerror()); return 2; }
        fn = (work_fn)dlsym(h, "bench_work");
    }
    if (!strcmp(mode, "threads")) {
        pthread_t t[4]; struct job j[4];
        for (int i = 0; i < 4; i++) { j[i] = (struct job){fn, i * (n / 4), n / 4}; pthread_create(&t[i], 0, run_job, &j[i]); }
        for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
    } else {
        fn(0, n);
    }
    return 0;
}
