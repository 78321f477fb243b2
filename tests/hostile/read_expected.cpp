// expect: WA|RE
// input: {EXPECTED}
// expected_output: SECRET-ANSWER-42
// escape: none
// why: given the path of the hidden expected-output file, it copies the file to stdout (directly, via /proc/self/root, a ../ path from the cwd, or by listing the file's directory) to score AC; every read must be denied, leaving empty output (WA).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <iostream>
#include <string>

static bool dump(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) return false;
    char buf[4096];
    ssize_t n, total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) total += write(1, buf, static_cast<size_t>(n));
    close(fd);
    return total > 0;
}

int main() {
    std::string path;
    std::getline(std::cin, path);
    if (dump(path) || dump("/proc/self/root" + path) || dump("/proc/1/root" + path) ||
        dump("../../../../../../../../.." + path) || dump("/dev/fd/../../.." + path))
        return 0;
    std::string dir = path.substr(0, path.rfind('/'));
    if (DIR* d = opendir(dir.c_str())) {  // the directory may hold it under another name
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.' && dump(dir + "/" + e->d_name)) break;
        closedir(d);
    }
    return 0;
}
