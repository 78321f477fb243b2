// expect: AC
// input: 5 7
// expected_output: 12
// escape: none
// why: appends a string to the .interp section, so PT_INTERP holds an embedded NUL; the kernel reads the loader's name up to the first NUL and runs the program normally, so the evaluator must too (it once raised ValueError reading the header, which aborted the whole batch).
#include <cstdio>

asm(".section .interp, \"a\"\n.string \"/tmp/not-the-loader\"\n.previous\n");

int main() {
    int a = 0, b = 0;
    if (std::scanf("%d %d", &a, &b) != 2) return 1;
    std::printf("%d\n", a + b);
}
