// expect: AC
// input: 314572800
// expected_output: 24122542158148258
// limits: memory=1024
// escape: none
// why: allocates and touches 300 MiB (well under a 1024 MiB limit) and prints a checksum; a legitimate memory-heavy program must not be killed (AC).
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
    unsigned long long bytes;
    if (std::scanf("%llu", &bytes) != 1) return 1;
    std::vector<uint32_t> a(bytes / sizeof(uint32_t));
    uint32_t x = 12345;
    for (size_t i = 0; i < a.size(); ++i) a[i] = x = x * 1103515245u + 12345u;  // touches every page
    uint64_t sum = 0;
    for (size_t i = 0; i < a.size(); i += 7) sum += a[i] ^ i;
    std::printf("%llu\n", static_cast<unsigned long long>(sum));
    return 0;
}
