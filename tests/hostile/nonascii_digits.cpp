// expect: WA
// input: 5 7
// expected_output: 12
// escape: none
// why: prints the answer in Arabic-Indic digits (U+0661 U+0662), which Python's float() reads as 12 and PIE's rule accepts; a judge must not.
#include <cstdio>

int main() { std::printf("\u0661\u0662\n"); }
