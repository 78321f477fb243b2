// expect: AC|RE
// escape: none
// why: execve of a shell (directly, through /usr/bin, or via the dynamic loader, which lives in a readable library dir) would run arbitrary host binaries; exec must be refused (Landlock grants execute only on the program) so the shell never prints ESCAPED.
#include <unistd.h>
#include <cstdio>

int main() {
    char* const sh[] = {(char*)"sh", (char*)"-c", (char*)"echo ESCAPED", nullptr};
    char* const ld[] = {(char*)"ld.so", (char*)"/bin/sh", (char*)"-c", (char*)"echo ESCAPED", nullptr};
    char* const env[] = {nullptr};
    execve("/bin/sh", sh, env);
    execve("/usr/bin/sh", sh, env);
    execve("/bin/bash", sh, env);
    execve("/lib64/ld-linux-x86-64.so.2", ld, env);
    execve("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", ld, env);
    std::perror("execve");
    return 0;
}
