// valgrind client requests around the work (CALLGRIND_TOGGLE_COLLECT, CALLGRIND_ZERO_STATS):
// under callgrind they hid the work; elsewhere the magic sequence is a no-op rotation.
#include <cstdio>
static void client_request(unsigned long request) {
  unsigned long args[6] = {request, 0, 0, 0, 0, 0};
  unsigned long result = 0;
  __asm__ volatile("rolq $3, %%rdi; rolq $13, %%rdi; rolq $61, %%rdi; rolq $51, %%rdi\n\t"
                   "xchgq %%rbx, %%rbx"
                   : "=d"(result)
                   : "a"(&args[0]), "0"(result)
                   : "cc", "memory");
}
constexpr unsigned long TOGGLE_COLLECT = ('C' << 24 | 'T' << 16) + 2;
constexpr unsigned long ZERO_STATS = ('C' << 24 | 'T' << 16) + 1;
int main() {
  long long n = 0, sum = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  client_request(TOGGLE_COLLECT);
  for (long long i = 0; i < n; ++i) sum += i * i % 7;
  client_request(TOGGLE_COLLECT);
  std::printf("%lld\n", sum);
  client_request(ZERO_STATS);
}
