// expect: RE|MLE
// limits: memory=256
// escape: none
// why: unbounded recursion with a 1 KiB frame grows the stack until it hits the stack rlimit (SIGSEGV, RE) or the memory cgroup (MLE); it must never take down the host.
#include <cstdio>

static int dive(int depth) {
    volatile char frame[1024];  // per-frame local kept alive across the call
    frame[depth & 1023] = static_cast<char>(depth);
    int below = dive(depth + 1);  // not a tail call: the volatile read comes after
    return below + frame[depth & 1023];
}

int main() {
    std::printf("%d\n", dive(0));
    return 0;
}
