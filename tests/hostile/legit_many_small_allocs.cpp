// expect: AC
// input: 10000000
// expected_output: 4995000000
// limits: memory=1024
// escape: none
// why: 10 million separate `new int` (about 400 MiB with allocator overhead and the pointer vector) is wasteful but legitimate under 1024 MiB, and must be AC.
#include <cstdio>
#include <vector>

int main() {
    int n;
    if (std::scanf("%d", &n) != 1) return 1;
    std::vector<int*> ptrs;
    ptrs.reserve(n);
    for (int i = 0; i < n; ++i) ptrs.push_back(new int(i % 1000));
    long long sum = 0;
    for (int* p : ptrs) sum += *p;
    for (int* p : ptrs) delete p;
    std::printf("%lld\n", sum);
    return 0;
}
