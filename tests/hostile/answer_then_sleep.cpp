// expect: TLE
// input: 5 7
// expected_output: 12
// escape: none
// why: prints and flushes the right answer and then never exits, hoping the output already written is judged; exceeding the wall limit must be TLE, never AC.
#include <unistd.h>
#include <cstdio>

int main() {
    long a, b;
    if (std::scanf("%ld %ld", &a, &b) != 2) return 1;
    std::printf("%ld\n", a + b);
    std::fflush(stdout);
    for (;;) sleep(1000);
}
