// expect: AC|WA|RE|TLE
// expected_output: ALIVE
// escape: none
// why: SIGSTOP to the process group, the parent and everyone would freeze the launcher so no limit is ever enforced and the evaluator hangs; the program runs in its own session, so it can only stop itself (TLE by the wall clock), and the evaluator must still report a verdict in time.
#include <signal.h>
#include <unistd.h>
#include <cstdio>

int main() {
    std::fprintf(stderr, "pgrp: %d\n", kill(0, SIGSTOP));
    std::fprintf(stderr, "parent: %d\n", kill(getppid(), SIGSTOP));
    std::fprintf(stderr, "all: %d\n", kill(-1, SIGSTOP));
    std::printf("ALIVE\n");
    return 0;
}
