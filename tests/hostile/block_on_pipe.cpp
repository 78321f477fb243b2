// expect: TLE
// limits: time=1
// escape: none
// why: blocks forever reading a pipe whose write end it holds itself, using no CPU; the wall-clock limit must stop it (TLE).
#include <unistd.h>

int main() {
    int p[2];
    if (pipe(p) != 0) return 0;  // no pipe: exit quietly, and TLE will then fail loudly
    char c;
    for (;;) (void)!read(p[0], &c, 1);
}
