// expect: RE
// input: 5 7
// expected_output: 12
// escape: none
// why: prints the right answer and exits with status 1; a non-zero exit must be RE even with matching output.
#include <cstdio>

int main() {
    long a, b;
    if (std::scanf("%ld %ld", &a, &b) != 2) return 1;
    std::printf("%ld\n", a + b);
    return 1;
}
