// expect: TLE
// limits: time=1
// escape: none
// why: asks for SCHED_FIFO priority 99 and nice -20 and then spins, which would starve the host (and the evaluator's timers); the calls must fail and the spin must end in TLE.
#include <sched.h>
#include <sys/resource.h>
#include <cstdio>

int main() {
    sched_param sp{};
    sp.sched_priority = 99;
    if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0) std::fprintf(stderr, "got SCHED_FIFO\n");
    if (setpriority(PRIO_PROCESS, 0, -20) == 0) std::fprintf(stderr, "got nice -20\n");
    volatile unsigned long spin = 0;
    for (;;) ++spin;
}
