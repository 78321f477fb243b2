// expect: AC
// input: 1000000
// expected_output: 499500000
// limits: memory=256
// escape: none
// why: a 400 MB global array of which only 4 MB is touched is the usual "MAXN" habit; memory must be judged by what is used (cgroup), not reserved address space, so this is AC under 256 MiB.
#include <cstdio>

static int big[100000000];

int main() {
    int n;
    if (std::scanf("%d", &n) != 1 || n > 100000000) return 1;
    for (int i = 0; i < n; ++i) big[i] = i % 1000;
    long long sum = 0;
    for (int i = 0; i < n; ++i) sum += big[i];
    std::printf("%lld\n", sum);
    return 0;
}
