// expect: WA
// input: 7
// expected_output: Yes
// escape: none
// why: readlink("/proc/self/fd/0") would name the test input's file, whose folder holds the expected outputs; it answers by the size of the sibling output.0.txt, as on a Yes/No problem; stdin must be an anonymous copy that names no file, so it must guess: WA.
#include <sys/stat.h>
#include <unistd.h>
#include <iostream>
#include <string>

int main() {
    char link[4096];
    for (const char* name : {"/proc/self/fd/0", "/dev/stdin", "/dev/fd/0"}) {
        ssize_t n = readlink(name, link, sizeof link - 1);
        if (n <= 0) continue;
        std::string path(link, static_cast<size_t>(n));
        size_t slash = path.rfind('/');
        if (path.find("input.") == std::string::npos || slash == std::string::npos) continue;
        struct stat st;
        std::string sibling = path.substr(0, slash) + "/output.0.txt";
        // naming the input's file at all is the hole: answer as if the size said so
        bool yes = stat(sibling.c_str(), &st) != 0 || st.st_size == 4;
        std::cout << (yes ? "Yes" : "No") << "\n";
        return 0;
    }
    std::cout << "No\n";
}
