// expect: AC
// expected_output: OK
// escape: none
// why: seeding from time(0)/chrono, timing with clock() and formatting local time (reads /etc/localtime) are common and legitimate; they must work (AC).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

int main() {
    std::srand(static_cast<unsigned>(std::time(nullptr)));
    auto seed = std::chrono::steady_clock::now().time_since_epoch().count() ^
                std::chrono::system_clock::now().time_since_epoch().count() ^
                std::chrono::high_resolution_clock::now().time_since_epoch().count();
    std::clock_t start = std::clock();
    volatile long spin = 0;
    for (long i = 0; i < 10000000; ++i) spin += i ^ std::rand();
    std::time_t now = std::time(nullptr);
    char text[64];
    bool ok = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&now)) > 0;
    ok = ok && std::clock() >= start && seed != 0;
    std::fprintf(stderr, "%s\n", text);
    std::puts(ok ? "OK" : "BROKEN");
    return 0;
}
