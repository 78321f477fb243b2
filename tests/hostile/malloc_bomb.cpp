// expect: MLE
// limits: time=5 memory=256
// escape: none
// why: allocates and touches 16 MiB blocks forever to exhaust host memory; the memory cgroup must OOM-kill it (MLE).
#include <cstdlib>

int main() {
    for (;;) {
        const size_t size = 16u << 20;
        char* p = static_cast<char*>(std::malloc(size));
        if (!p) return 3;  // malloc failing instead of an OOM kill would show as RE
        volatile char* q = p;  // volatile stores: the compiler cannot drop the touching
        for (size_t i = 0; i < size; i += 4096) q[i] = 1;
    }
}
