// expect: AC|RE
// escape: none
// why: new user/mount namespaces, mount, chroot and setns are the usual first steps out of a sandbox (e.g. remounting / or /proc writable); all must fail, so ESCAPED is never printed.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>
#include <cstdio>

int main() {
    if (unshare(CLONE_NEWUSER) == 0) std::printf("ESCAPED unshare user\n");
    if (unshare(CLONE_NEWNS) == 0) std::printf("ESCAPED unshare mount\n");
    if (unshare(CLONE_NEWNET) == 0) std::printf("ESCAPED unshare net\n");
    if (mount("none", "/tmp", "tmpfs", 0, nullptr) == 0) std::printf("ESCAPED mount tmpfs\n");
    if (mount("/", "/", nullptr, MS_REMOUNT | MS_BIND, nullptr) == 0) std::printf("ESCAPED remount\n");
    if (chroot("/tmp") == 0) std::printf("ESCAPED chroot\n");
    if (setns(0, CLONE_NEWNS) == 0) std::printf("ESCAPED setns\n");
    return 0;
}
