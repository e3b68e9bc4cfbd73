/* Allocates a working set once, then keeps reusing it: flat memory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    size_t n = 32u << 20;
    char *buf = malloc(n);
    for (;;) {
        memset(buf, 1, n);
        usleep(100 * 1000);
    }
}
