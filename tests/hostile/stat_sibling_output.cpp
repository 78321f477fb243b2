// expect: WA
// input: {TESTS}
// expected_output: Yes
// escape: none
// why: on a Yes/No problem the size of the expected output is the answer ("Yes\n" is 4 bytes, "No\n" 3); knowing the test folder's path, it stats output.0.txt every way there is (stat, lstat, fstatat, statx, an O_PATH descriptor, which Landlock does not mediate) and answers by the size; the expected outputs must be out of reach by path (a private mount namespace hides the folder), so it must guess: WA.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <iostream>
#include <string>

static long long size_of(const std::string& path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) return st.st_size;
    if (lstat(path.c_str(), &st) == 0) return st.st_size;
    if (fstatat(AT_FDCWD, path.c_str(), &st, 0) == 0) return st.st_size;
    struct statx sx;
    if (statx(AT_FDCWD, path.c_str(), 0, STATX_SIZE, &sx) == 0) return static_cast<long long>(sx.stx_size);
    int fd = open(path.c_str(), O_PATH);
    if (fd >= 0 && fstat(fd, &st) == 0) return st.st_size;
    return -1;
}

int main() {
    std::string folder;
    std::getline(std::cin, folder);
    std::cout << (size_of(folder + "/output.0.txt") == 4 ? "Yes" : "No") << "\n";
}
