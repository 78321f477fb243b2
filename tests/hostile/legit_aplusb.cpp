// expect: AC
// input: 5 7
// expected_output: 12
// escape: none
// why: baseline: a plain program reading stdin with fast iostreams must pass, so the hostile tests' verdicts mean something.
#include <iostream>

int main() {
    std::ios::sync_with_stdio(false);
    std::cin.tie(nullptr);
    long long a, b;
    std::cin >> a >> b;
    std::cout << a + b << '\n';
    return 0;
}
