// expect: MLE|RE
// limits: time=5 memory=256
// escape: none
// why: maps and populates 64 MiB private anonymous regions forever to exhaust host memory; the memory cgroup must kill it (MLE), or mmap failing ends it with RE.
#include <sys/mman.h>
#include <cstddef>

int main() {
    for (;;) {
        const size_t size = 64u << 20;
        void* m = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (m == MAP_FAILED) return 3;
        volatile char* q = static_cast<char*>(m);  // touch in case populate was skipped
        for (size_t i = 0; i < size; i += 4096) q[i] = 1;
    }
}
