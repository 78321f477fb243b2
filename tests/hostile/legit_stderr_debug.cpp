// expect: AC
// input: 5 7
// expected_output: 12
// escape: none
// why: debug output on stderr (1 MB here, below the cap) is legitimate and must not affect the verdict (AC).
#include <cstdio>

int main() {
    long a, b;
    if (std::scanf("%ld %ld", &a, &b) != 2) return 1;
    for (int i = 0; i < 100000; ++i) std::fprintf(stderr, "debug %06d\n", i);
    std::printf("%ld\n", a + b);
    return 0;
}
