// expect: AC|RE
// escape: none
// why: reads /proc (its own environ, the host's pid 1 cmdline/environ, mounts) and host config files to learn secrets or paths of the evaluator; Landlock must deny all of them, so ESCAPED is never printed.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>

int main() {
    const char* paths[] = {"/proc/self/environ", "/proc/self/cmdline", "/proc/self/mountinfo",
                           "/proc/1/cmdline",    "/proc/1/environ",    "/proc/self/status",
                           "/etc/passwd",        "/etc/hostname",      "/etc/hosts",
                           "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (const char* p : paths) {
        int fd = open(p, O_RDONLY);
        char buf[64];
        if (fd >= 0 && read(fd, buf, sizeof buf) > 0) std::printf("ESCAPED %s\n", p);
        if (fd >= 0) close(fd);
    }
    return 0;
}
