// expect: AC
// input: 20000000
// expected_output: 10000860918696
// escape: none
// why: an 80 MB local array in main is a common competitive-programming habit; the stack limit (tied to the memory limit) must allow it (AC).
#include <cstdio>

int main() {
    int a[20000000];
    int n;
    if (std::scanf("%d", &n) != 1 || n > 20000000) return 1;
    a[0] = 1;
    for (int i = 1; i < n; ++i) a[i] = static_cast<int>((a[i - 1] * 31LL + i) % 1000003);
    long long sum = 0;
    for (int i = 0; i < n; ++i) sum += a[i];
    std::printf("%lld\n", sum);
    return 0;
}
