// expect: AC|OLE|RE
// input: {CANARY}
// escape: file
// why: makes a 1 TiB sparse file (at the canary path, and by seeking stdout far past the output cap) to exhaust the host's disk or the evaluator reading the output; both must be refused (no canary, EFBIG on stdout) and ESCAPED never printed.
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <iostream>
#include <string>

int main() {
    std::string path;
    std::getline(std::cin, path);
    const off_t huge = off_t(1) << 40;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0666);
    if (fd >= 0 && pwrite(fd, "x", 1, huge) == 1) std::printf("ESCAPED canary\n");
    bool big_stdout = lseek(1, huge, SEEK_SET) == huge && write(1, "x", 1) == 1;
    lseek(1, 0, SEEK_SET);
    if (big_stdout) std::printf("ESCAPED stdout\n");
    return 0;
}
