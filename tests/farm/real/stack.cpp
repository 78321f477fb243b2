#include <cstdio>
static int down(int n) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(n);
  return n == 0 ? 0 : down(n - 1) + frame[0];
}
int main() { std::printf("%d\n", down(4096)); }
