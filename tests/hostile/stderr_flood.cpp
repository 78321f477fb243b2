// expect: OLE
// escape: none
// why: floods stderr instead of stdout, hoping only stdout is capped; stderr must be capped too and give OLE.
#include <unistd.h>
#include <cstring>

int main() {
    static char buf[1 << 16];
    std::memset(buf, 'E', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    for (;;) (void)!write(2, buf, sizeof buf);
}
