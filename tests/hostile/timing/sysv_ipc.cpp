// Leaves SysV IPC objects behind (a 256 MiB shared segment, a message queue, mode 0666): they
// would outlive the run, stay charged to the slot's memory cgroup, and carry data to a later run.
#include <cstdio>
#include <cstring>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/shm.h>
int main() {
  long long n = 0, sum = 0;
  if (std::scanf("%lld", &n) != 1) return 1;
  int segment = shmget(IPC_PRIVATE, 256u << 20, IPC_CREAT | 0666);
  if (segment >= 0) {
    void* at = shmat(segment, nullptr, 0);
    if (at != reinterpret_cast<void*>(-1)) std::memset(at, 1, 256u << 20);
  }
  msgget(IPC_PRIVATE, IPC_CREAT | 0666);
  for (long long i = 0; i < n; ++i) sum += i * i % 7;
  std::printf("%lld\n", sum);
}
