// expect: TLE
// limits: time=1
// escape: none
// why: ignores and blocks every catchable signal (SIGXCPU, SIGTERM, SIGALRM, ...) and spins, hoping the time limit is enforced by a catchable signal; it must still get TLE.
#include <csignal>

int main() {
    for (int s = 1; s < 32; ++s)
        if (s != SIGKILL && s != SIGSTOP) std::signal(s, SIG_IGN);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, nullptr);
    volatile unsigned long spin = 0;
    for (;;) ++spin;
}
