// expect: TLE
// limits: time=1
// escape: none
// why: raises RLIMIT_CPU, RLIMIT_AS and RLIMIT_FSIZE to infinity (setrlimit and prlimit) and then spins; raising hard limits must fail and the program must still get TLE.
#include <sys/resource.h>
#include <cstdio>

int main() {
    rlimit inf{RLIM_INFINITY, RLIM_INFINITY};
    int resources[] = {RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NPROC, RLIMIT_STACK};
    for (int r : resources) {
        if (setrlimit(r, &inf) == 0) std::fprintf(stderr, "raised %d with setrlimit\n", r);
        if (prlimit(0, static_cast<__rlimit_resource>(r), &inf, nullptr) == 0)
            std::fprintf(stderr, "raised %d with prlimit\n", r);
    }
    volatile unsigned long spin = 0;
    for (;;) ++spin;
}
