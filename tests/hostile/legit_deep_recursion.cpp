// expect: AC
// input: 1000000
// expected_output: 500000500000
// escape: none
// why: a legitimate DFS-style recursion 1,000,000 frames deep (non-tail, a volatile local per frame) needs tens of MiB of stack; the stack limit must allow it (AC).
#include <cstdio>

__attribute__((noinline)) static long long sum_to(int n) {
    volatile int frame[4];  // lives across the call: the frame cannot be folded away
    frame[n & 3] = n;
    if (n == 0) return 0;
    long long below = sum_to(n - 1);
    return below + frame[n & 3];
}

int main() {
    int n;
    if (std::scanf("%d", &n) != 1) return 1;
    std::printf("%lld\n", sum_to(n));
    return 0;
}
