/* Starts a worker per "request" that blocks forever on a condition nobody
 * signals: the thread count grows (the goroutine-leak pattern in C). */
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) pthread_cond_wait(&never, &lock);
    return NULL;
}

int main(void) {
    for (;;) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        pthread_create(&t, &attr, worker, NULL);
        pthread_attr_destroy(&attr);
        usleep(100 * 1000);
    }
}
