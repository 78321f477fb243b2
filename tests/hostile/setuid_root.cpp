// expect: AC|RE
// escape: none
// why: tries to become root (setuid/setresuid/setgid 0) to defeat file permissions; it must already run unprivileged and every call must fail, so ESCAPED is never printed.
#include <unistd.h>
#include <cstdio>

int main() {
    if (geteuid() == 0) std::printf("ESCAPED already root\n");
    if (setuid(0) == 0) std::printf("ESCAPED setuid\n");
    if (setresuid(0, 0, 0) == 0) std::printf("ESCAPED setresuid\n");
    if (setgid(0) == 0) std::printf("ESCAPED setgid\n");
    if (geteuid() == 0) std::printf("ESCAPED root now\n");
    return 0;
}
