#include <cstdio>
int main() {
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float b[8] = {10, 20, 30, 40, 50, 60, 70, 80}, c[8] = {0};
  __asm__ volatile("vmovups %1, %%ymm1\n\tvmovups %2, %%ymm2\n\t"
                   "vaddps %%ymm2, %%ymm1, %%ymm0\n\tvmovups %%ymm0, %0"
                   : "=m"(c) : "m"(a), "m"(b) : "xmm0", "xmm1", "xmm2");
  std::printf("%g %g\n", c[0], c[7]);
}
