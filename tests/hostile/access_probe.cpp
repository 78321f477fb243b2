// expect: WA
// input: {TESTS}
// expected_output: Yes
// escape: none
// why: access() and faccessat() are not mediated by Landlock either; a probe of which expected outputs exist (how many tests, which indices) leaks the test set; here any success answers "Yes"; the folder is hidden, so every probe fails: WA.
#include <fcntl.h>
#include <unistd.h>
#include <iostream>
#include <string>

int main() {
    std::string folder;
    std::getline(std::cin, folder);
    std::string path = folder + "/output.0.txt";
    bool seen = access(path.c_str(), F_OK) == 0 || access(path.c_str(), R_OK) == 0 ||
                faccessat(AT_FDCWD, path.c_str(), F_OK, 0) == 0 ||
                faccessat(AT_FDCWD, (folder + "/input.0.txt").c_str(), F_OK, 0) == 0;
    std::cout << (seen ? "Yes" : "No") << "\n";
}
