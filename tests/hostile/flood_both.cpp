// expect: OLE
// escape: none
// why: floods stdout and stderr alternately so each file grows at once; both must be capped and the verdict must be OLE.
#include <unistd.h>
#include <cstring>

int main() {
    static char buf[1 << 16];
    std::memset(buf, 'B', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    for (;;) {
        (void)!write(1, buf, sizeof buf);
        (void)!write(2, buf, sizeof buf);
    }
}
