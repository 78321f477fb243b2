// expect: RE
// escape: none
// why: the naive std::thread bomb (10000 detached sleepers, no error handling) must hit the thread limit, so std::system_error goes uncaught and the program aborts (RE) instead of printing ESCAPED.
#include <chrono>
#include <cstdio>
#include <thread>

int main() {
    for (int i = 0; i < 10000; ++i)
        std::thread([] { std::this_thread::sleep_for(std::chrono::hours(1)); }).detach();
    std::printf("ESCAPED\n");
    return 0;
}
