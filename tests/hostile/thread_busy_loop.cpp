// expect: TLE
// limits: time=1
// escape: none
// why: four threads spin at once so CPU time grows faster than wall time, hoping only the main thread or wall time is counted; the process-wide CPU limit must stop it (TLE).
#include <thread>
#include <vector>

int main() {
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i)
        ts.emplace_back([] {
            volatile unsigned long spin = 0;
            for (;;) ++spin;
        });
    for (auto& t : ts) t.join();
}
