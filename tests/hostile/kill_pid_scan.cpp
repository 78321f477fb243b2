// expect: AC|WA|RE
// expected_output: ALIVE
// escape: none
// why: sends SIGKILL to every pid from 1 to 100000 (except itself) to hit the evaluator or other sandboxes by number; only its own PID namespace may be reachable and the evaluator must still report.
#include <signal.h>
#include <unistd.h>
#include <cstdio>

int main() {
    pid_t self = getpid();
    int hit = 0;
    for (pid_t p = 1; p <= 100000; ++p)
        if (p != self && kill(p, SIGKILL) == 0) ++hit;
    std::fprintf(stderr, "signalled %d processes\n", hit);
    std::printf("ALIVE\n");
    return 0;
}
