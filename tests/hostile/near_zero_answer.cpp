// expect: WA
// input: 1 2500
// expected_output: 0.0004
// escape: none
// why: prints 0 for an answer of 0.0004 (or any answer below 1e-3), which PIE's absolute tolerance of 1e-3 accepts; a judge must not.
#include <cstdio>

int main() { std::printf("0\n"); }
