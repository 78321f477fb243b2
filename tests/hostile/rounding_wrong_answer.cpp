// expect: WA
// input: 123456789012345678
// expected_output: 123456789012345678
// escape: none
// why: computes in double and prints 123456789012345680, which PIE's rule accepts (both round to the same double); a judge must compare integers exactly (the default check of pie.evaluate and pie run is strict).
#include <cstdio>

int main() {
    double x = 0;
    if (std::scanf("%lf", &x) != 1) return 1;
    std::printf("%.0f\n", x);
}
