// expect: RE
// input: 5 7
// expected_output: 12
// escape: none
// why: prints the right answer and then fails an assert (abort); a crashed run must be RE even with matching output (as PID 1 of its namespace SIGABRT is ignored, and glibc falls back to a faulting instruction).
#include <cassert>
#include <cstdio>

int main() {
    long a, b;
    if (std::scanf("%ld %ld", &a, &b) != 2) return 1;
    std::printf("%ld\n", a + b);
    std::fflush(stdout);
    assert(a + b == 0 && "deliberate failure");
    return 0;
}
