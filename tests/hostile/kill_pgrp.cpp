// expect: AC|WA|RE
// expected_output: ALIVE
// escape: none
// why: the program inherits the launcher's (and maybe the evaluator's) process group, so kill(0, SIGKILL) and killpg could reach them; they must be out of reach and the evaluator must still report.
#include <signal.h>
#include <unistd.h>
#include <cstdio>

int main() {
    std::fprintf(stderr, "getpgrp() = %d\n", getpgrp());
    std::fprintf(stderr, "kill(0) = %d\n", kill(0, SIGKILL));
    std::fprintf(stderr, "killpg = %d\n", killpg(getpgrp(), SIGKILL));
    std::fprintf(stderr, "kill(-pgid) = %d\n", kill(-getpgid(0), SIGKILL));
    std::printf("ALIVE\n");
    return 0;
}
