// expect: AC
// expected_output: OK
// escape: none
// why: std::random_device (default token, and explicit /dev/urandom) seeding mt19937 is common and legitimate; the entropy source must be reachable (AC).
#include <cstdio>
#include <random>

int main() {
    std::random_device rd;
    std::random_device urandom("/dev/urandom");
    std::mt19937_64 rng((static_cast<unsigned long long>(rd()) << 32) ^ urandom());
    std::uniform_int_distribution<int> dist(0, 1 << 30);
    int first = dist(rng);
    bool varied = false;
    for (int i = 0; i < 1000; ++i) varied |= dist(rng) != first;
    unsigned a = rd(), b = rd(), c = rd(), d = rd();
    varied = varied && !(a == b && b == c && c == d);
    std::puts(varied ? "OK" : "CONSTANT");
    return 0;
}
