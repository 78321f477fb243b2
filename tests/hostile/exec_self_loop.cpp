// expect: TLE
// limits: time=1
// escape: none
// why: burns 0.3 s of CPU, then re-executes itself hoping execve resets the CPU-time accounting; CPU time must accumulate across execve and end in TLE (ESCAPED after 100 rounds means 30 s ran unchecked).
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

static void burn(double seconds) {
    std::clock_t start = std::clock();
    volatile unsigned long spin = 0;
    while (double(std::clock() - start) / CLOCKS_PER_SEC < seconds) ++spin;
}

int main(int argc, char** argv) {
    int round = argc > 1 ? std::atoi(argv[1]) : 0;
    if (round >= 100) {
        std::printf("ESCAPED after %d rounds\n", round);
        return 0;
    }
    burn(0.3);
    std::string next = std::to_string(round + 1);
    char* args[] = {argv[0], const_cast<char*>(next.c_str()), nullptr};
    execv("/proc/self/exe", args);
    execv(argv[0], args);
    for (;;) burn(1.0);  // exec refused: just spin, which must still be TLE
}
