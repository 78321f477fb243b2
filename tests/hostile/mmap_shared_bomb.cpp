// expect: MLE|RE
// limits: time=5 memory=256
// escape: none
// why: shared anonymous mappings are shmem (page cache), which a naive RSS-based limit misses; they must still be charged to the cgroup and end in MLE (or RE if mmap fails).
#include <sys/mman.h>
#include <cstddef>

int main() {
    for (;;) {
        const size_t size = 64u << 20;
        void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return 3;
        volatile char* q = static_cast<char*>(m);
        for (size_t i = 0; i < size; i += 4096) q[i] = 1;
    }
}
