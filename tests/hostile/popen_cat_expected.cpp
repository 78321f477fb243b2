// expect: WA|RE
// input: {EXPECTED}
// expected_output: SECRET-ANSWER-42
// escape: none
// why: popen("cat <expected file>") would copy the hidden answer to stdout and score AC; spawning a shell must fail so the output stays empty (WA).
#include <cstdio>
#include <iostream>
#include <string>

int main() {
    std::string path;
    std::getline(std::cin, path);
    FILE* p = popen(("cat '" + path + "'").c_str(), "r");
    if (!p) return 0;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) std::fwrite(buf, 1, n, stdout);
    pclose(p);
    return 0;
}
