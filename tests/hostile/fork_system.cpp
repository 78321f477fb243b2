// expect: AC|RE
// input: {CANARY}
// escape: file
// why: system() spawns /bin/sh to print ESCAPED and create the canary file; spawning must fail, so nothing is printed and the canary never appears.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

int main() {
    std::string canary;
    std::getline(std::cin, canary);
    std::string cmd = "echo ESCAPED; echo pwned > '" + canary + "'";
    int status = std::system(cmd.c_str());  // glibc: posix_spawn -> clone without CLONE_THREAD
    std::fprintf(stderr, "system returned %d\n", status);
    return 0;
}
