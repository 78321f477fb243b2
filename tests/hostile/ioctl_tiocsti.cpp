// expect: AC|RE
// escape: none
// why: TIOCSTI pushes keystrokes into a controlling terminal (typing commands into the operator's shell); no standard descriptor may be a terminal and /dev/tty must be unreachable, so ESCAPED is never printed.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cstdio>

int main() {
    int tty = open("/dev/tty", O_RDWR);
    int fds[] = {0, 1, 2, tty};
    for (int fd : fds) {
        if (fd < 0) continue;
        char c = '\n';
        if (ioctl(fd, TIOCSTI, &c) == 0) std::printf("ESCAPED tiocsti fd %d\n", fd);
    }
    return 0;
}
