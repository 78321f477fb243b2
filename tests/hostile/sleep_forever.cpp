// expect: TLE
// limits: time=1
// escape: none
// why: sleeps forever using no CPU, so a CPU-only limit would never fire; the wall-clock limit must stop it (TLE).
#include <unistd.h>

int main() {
    for (;;) sleep(1000);
}
