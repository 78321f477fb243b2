// expect: RE
// expected_output: 1
// escape: none
// reason: system call pause (34) refused by the sandbox
// why: prints the answer, then makes a system call outside the allow-list (pause, which would also wait out the wall clock); the run must end at once as RE, and the result must name the refused call instead of an unexplained "signal 31".
#include <sys/syscall.h>
#include <unistd.h>
#include <cstdio>

int main() {
    std::puts("1");
    std::fflush(stdout);
    syscall(SYS_pause);
    return 0;
}
