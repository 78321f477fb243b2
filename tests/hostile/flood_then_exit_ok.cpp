// expect: OLE
// input: 5 7
// expected_output: 12
// escape: none
// why: prints the right answer, then writes junk lines until the output cap refuses (EFBIG) and exits 0, hoping the line-wise checker ignores the extra lines; hitting the cap must be OLE, not AC.
#include <unistd.h>
#include <cstdio>
#include <cstring>

int main() {
    long a, b;
    if (std::scanf("%ld %ld", &a, &b) != 2) return 1;
    std::printf("%ld\n", a + b);
    std::fflush(stdout);
    static char buf[1 << 16];
    std::memset(buf, 'x', sizeof buf);
    buf[sizeof buf - 1] = '\n';
    while (write(1, buf, sizeof buf) > 0) {
    }
    return 0;  // stops cleanly at the cap
}
