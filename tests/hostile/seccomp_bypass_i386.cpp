// expect: RE|AC
// input: {PORT}
// escape: connect
// why: a filter that only checks x86_64 syscall numbers can be bypassed through the 32-bit ABI (int 0x80: socketcall=102, socket=359); the foreign architecture must be refused (SIGSYS, RE) and no connection may be made.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <cstdio>
#include <cstring>

static long int80(long nr, long a, long b, long c) {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

int main() {
    int port;
    if (std::scanf("%d", &port) != 1) return 0;
    // 32-bit syscalls take 32-bit pointers: put arguments below 4 GiB.
    void* low = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (low == MAP_FAILED) return 0;
    unsigned* args = static_cast<unsigned*>(low);
    sockaddr_in* addr = reinterpret_cast<sockaddr_in*>(args + 16);
    addr->sin_family = AF_INET;
    addr->sin_port = htons(static_cast<uint16_t>(port));
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    args[0] = AF_INET; args[1] = SOCK_STREAM; args[2] = 0;
    long fd = int80(102, 1 /* SYS_SOCKET */, reinterpret_cast<long>(args), 0);
    if (fd < 0) fd = int80(359 /* i386 socket */, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    args[0] = static_cast<unsigned>(fd);
    args[1] = static_cast<unsigned>(reinterpret_cast<unsigned long>(addr));
    args[2] = sizeof(sockaddr_in);
    long r = int80(102, 3 /* SYS_CONNECT */, reinterpret_cast<long>(args), 0);
    if (r != 0) r = int80(362 /* i386 connect */, fd, reinterpret_cast<long>(addr), sizeof(sockaddr_in));
    if (r == 0) std::printf("ESCAPED\n");
    else std::printf("ESCAPED socket only\n");  // even an fd is a hole
    return 0;
}
