// expect: AC
// input: 40000000
// expected_output: 19995899418700
// escape: none
// why: four std::threads summing slices of a range is legitimate (threads are allowed, only processes are not), and must be AC.
#include <cstdio>
#include <thread>
#include <vector>

int main() {
    long long n;
    if (std::scanf("%lld", &n) != 1) return 1;
    unsigned hw = std::thread::hardware_concurrency();  // probes sysfs/affinity; must not crash
    std::fprintf(stderr, "hardware_concurrency=%u\n", hw);
    const int k = 4;
    std::vector<long long> part(k, 0);
    std::vector<std::thread> ts;
    for (int t = 0; t < k; ++t)
        ts.emplace_back([&, t] {
            long long s = 0;
            for (long long i = t + 1; i <= n; i += k) s += (i * i) % 1000003;
            part[t] = s;
        });
    for (auto& th : ts) th.join();
    long long total = 0;
    for (long long s : part) total += s;
    std::printf("%lld\n", total);
    return 0;
}
