// expect: AC|RE
// escape: none
// why: a classic fork bomb tries to exhaust the host's process table; fork must fail (EAGAIN) so the original prints nothing, while any successful fork makes it print FORKED (WA).
#include <unistd.h>
#include <cstdio>

int main() {
    bool original = true;
    long forked = 0;
    for (int i = 0; i < 100000; ++i) {  // bounded, so a blocked fork ends quickly
        pid_t pid = fork();
        if (pid == 0) original = false;  // children keep bombing too
        else if (pid > 0) ++forked;
    }
    if (!original) _exit(0);
    if (forked > 0) std::printf("FORKED %ld\n", forked);
    return 0;
}
