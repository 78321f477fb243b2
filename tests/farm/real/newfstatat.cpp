#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main() {
  struct stat st;
  long r = syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0);
  std::printf("newfstatat returned %ld\n", r);
}
