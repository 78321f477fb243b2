// expect: WA|RE
// expected_output: SECRET-ANSWER-42
// escape: none
// why: without knowing any path, it walks "/", /tmp, the cwd and its parents looking for expected-output files (output.*.txt and the like) and prints any containing the answer, to score AC; directory listing outside the library dirs must be denied, leaving empty output (WA).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <string>

static long visited = 0, opened = 0;

static void look_at_file(const std::string& path) {
    if (++opened > 20000) return;
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK);
    if (fd < 0) return;
    static char buf[1 << 16];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    if (std::strstr(buf, "SECRET-ANSWER")) std::fwrite(buf, 1, static_cast<size_t>(n), stdout);
}

static void walk(const std::string& dir, int depth) {
    static const char* skip[] = {"/proc", "/sys", "/dev", "/lib", "/lib32", "/lib64", "/usr", "/bin", "/sbin", "/boot"};
    for (const char* s : skip)
        if (dir == s) return;
    DIR* d = opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        if (++visited > 200000) break;
        if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
        std::string path = (dir == "/" ? "" : dir) + "/" + e->d_name;
        struct stat st;
        if (lstat(path.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode) && depth < 6) walk(path, depth + 1);
        else if (S_ISREG(st.st_mode) && st.st_size < (1 << 16)) look_at_file(path);
    }
    closedir(d);
}

int main() {
    const char* roots[] = {"/", "/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root",
                           ".", "..", "../..", "../../..", "/proc/self/cwd/.."};
    for (const char* r : roots) walk(r, 0);
    std::fprintf(stderr, "visited %ld entries\n", visited);
    return 0;
}
