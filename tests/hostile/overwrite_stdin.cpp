// expect: AC|RE
// input: 5 7
// escape: none
// why: rewrites the test's input file through fd 0, /dev/stdin or /proc/self/fd/0 (tampering with shared test data for later runs); stdin must be read-only and the reopen denied, so ESCAPED is never printed.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>

int main() {
    if (write(0, "1 1\n", 4) > 0) std::printf("ESCAPED fd0\n");
    const char* paths[] = {"/dev/stdin", "/proc/self/fd/0"};
    for (const char* p : paths) {
        int fd = open(p, O_WRONLY);
        if (fd >= 0 && write(fd, "1 1\n", 4) > 0) std::printf("ESCAPED %s\n", p);
        if (fd >= 0) close(fd);
    }
    return 0;
}
