// expect: AC|RE
// input: {CANARY}
// escape: file
// why: writes a file outside the sandbox (the canary path, writable by root on the host) to plant or tamper with files; every way to create it (fopen, open O_CREAT, creat, openat, via /proc/self/root) must fail.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>

int main() {
    std::string path;
    std::getline(std::cin, path);
    bool wrote = false;
    if (FILE* f = std::fopen(path.c_str(), "w")) {
        wrote = std::fputs("pwned\n", f) >= 0;
        std::fclose(f);
    }
    int fds[] = {
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666),
        creat(path.c_str(), 0666),
        openat(AT_FDCWD, path.c_str(), O_RDWR | O_CREAT, 0666),
        open(("/proc/self/root" + path).c_str(), O_WRONLY | O_CREAT, 0666),
    };
    for (int fd : fds)
        if (fd >= 0) {
            wrote |= write(fd, "pwned\n", 6) == 6;
            close(fd);
        }
    if (wrote) std::printf("ESCAPED\n");
    return 0;
}
