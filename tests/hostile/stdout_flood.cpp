// expect: OLE
// escape: none
// why: writes to stdout forever to fill the host's disk; the output cap (RLIMIT_FSIZE) must stop it and the verdict must be OLE, even though as PID 1 of its namespace it ignores SIGXFSZ and keeps looping on EFBIG.
#include <cstdio>
#include <cstring>

int main() {
    static char buf[1 << 16];
    std::memset(buf, 'A', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    for (;;) std::fwrite(buf, 1, sizeof buf, stdout);
}
