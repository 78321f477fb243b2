// expect: AC|WA|RE
// expected_output: ALIVE
// escape: none
// why: kill(-1, ...) signals every process the uid may signal, trying to take down the evaluator or other sandboxes; it must reach nothing outside the sandbox, and the evaluator must still report a verdict.
#include <signal.h>
#include <cstdio>

int main() {
    int sigs[] = {SIGTERM, SIGKILL, SIGSTOP};
    for (int s : sigs) {
        int r = kill(-1, s);
        std::fprintf(stderr, "kill(-1, %d) = %d\n", s, r);
    }
    std::printf("ALIVE\n");
    return 0;
}
