#pragma GCC target("avx2")
#include <cstdio>
int a[1024], b[1024];
int main() {
  for (int i = 0; i < 1024; i++) { a[i] = i; b[i] = 2 * i; }
  for (int i = 0; i < 1024; i++) a[i] += 3 * b[i];
  long s = 0;
  for (int i = 0; i < 1024; i++) s += a[i];
  std::printf("%ld\n", s);
}
