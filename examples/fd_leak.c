/* Opens a file per "request" and forgets to close it: the fd count grows
 * while memory stays flat. */
#include <fcntl.h>
#include <unistd.h>

int main(void) {
    for (;;) {
        int fd = open("/dev/null", O_RDONLY); /* never closed */
        (void)fd;
        usleep(50 * 1000);
    }
}
