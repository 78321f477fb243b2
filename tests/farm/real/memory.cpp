#include <cstdio>
#include <cstdlib>
int main() {
  const long n = 200L << 20;
  char *p = static_cast<char *>(std::malloc(n));
  for (long i = 0; i < n; i += 4096) p[i] = static_cast<char>(i >> 12);
  long s = 0;
  for (long i = 0; i < n; i += 4096) s += p[i];
  std::printf("%ld\n", s);
}
