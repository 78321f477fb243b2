// expect: AC|RE
// escape: none
// why: writes files in and above its working directory (to leave state for later runs or clobber the evaluator's files); the directory is read-only and outside Landlock's write set, so nothing may be created and ESCAPED is never printed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>

int main() {
    const char* names[] = {"out.txt", "./output.0.txt", "../output.0.txt", "../../pwned.txt"};
    for (const char* n : names) {
        int fd = open(n, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0 && write(fd, "pwned\n", 6) == 6) std::printf("ESCAPED %s\n", n);
        if (fd >= 0) close(fd);
    }
    if (mkdir("pwned_dir", 0777) == 0) std::printf("ESCAPED mkdir\n");
    return 0;
}
