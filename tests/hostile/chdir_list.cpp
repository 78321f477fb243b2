// expect: AC|RE
// escape: none
// why: lists the working directory and its parents (opendir "..", then chdir("..") and list ".") to discover the evaluator's files; listing must be denied (or chdir killed), so no LISTED line is printed.
#include <dirent.h>
#include <unistd.h>
#include <cstdio>

static void list(const char* dir) {
    if (DIR* d = opendir(dir)) {
        while (dirent* e = readdir(d)) std::printf("LISTED %s/%s\n", dir, e->d_name);
        closedir(d);
    }
}

int main() {
    list(".");
    list("..");
    list("../..");
    std::fflush(stdout);
    for (int i = 0; i < 3; ++i)
        if (chdir("..") == 0) list(".");
    return 0;
}
