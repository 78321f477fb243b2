// expect: WA
// input: 5 7
// expected_output: 12
// escape: none
// why: prints the answer, then seeks 15 MiB ahead in its stdout file and writes one byte: two written pages make a 15 MiB file of NUL bytes, which the evaluator once read whole into memory (and decoded) to check. The check must stream it and, as a judge, see the extra output (WA; PIE's rule ignores extra lines).
#include <cstdio>
#include <unistd.h>

int main() {
    std::printf("12\n");
    std::fflush(stdout);
    if (lseek(1, 15 << 20, SEEK_CUR) < 0) return 0;
    return write(1, "x", 1) == 1 ? 0 : 0;
}
