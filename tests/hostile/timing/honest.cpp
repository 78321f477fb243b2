// The work every program of this corpus does, done plainly.
#include <cstdio>
int main() {
  long long n = 0, sum = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  for (long long i = 0; i < n; ++i) sum += i * i % 7;
  std::printf("%lld\n", sum);
}
