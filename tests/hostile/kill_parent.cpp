// expect: AC|WA|RE
// expected_output: ALIVE
// escape: none
// why: kills (and stops) its parent, the launcher that enforces the limits and reports the verdict; the parent must be out of reach (in a PID namespace getppid() is 0, which makes this kill(0, ...)) and the evaluator must still report.
#include <signal.h>
#include <unistd.h>
#include <cstdio>

int main() {
    pid_t parent = getppid();
    std::fprintf(stderr, "getppid() = %d\n", parent);
    std::fprintf(stderr, "kill STOP = %d\n", kill(parent, SIGSTOP));
    std::fprintf(stderr, "kill KILL = %d\n", kill(parent, SIGKILL));
    std::printf("ALIVE\n");
    return 0;
}
