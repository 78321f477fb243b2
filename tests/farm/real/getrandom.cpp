#include <cstdio>
#include <sys/syscall.h>
#include <unistd.h>
int main() {
  unsigned char buf[8];
  long r = syscall(SYS_getrandom, buf, sizeof buf, 0);
  std::printf("getrandom returned %ld\n", r);
}
