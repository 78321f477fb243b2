// expect: AC
// expected_output: OK
// check: pie
// escape: none
// why: a legitimate program may write several MB (OK, then 1..1000000 one per line, about 6.9 MB, well under the output cap); PIE's line-wise checker ignores lines beyond the expected ones, so this is AC.
#include <cstdio>

int main() {
    std::puts("OK");
    for (int i = 1; i <= 1000000; ++i) std::printf("%d\n", i);
    return 0;
}
