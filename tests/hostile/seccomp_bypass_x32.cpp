// expect: RE|AC
// input: {PORT}
// escape: connect
// why: x32 syscall numbers (nr | 0x40000000) reach the same kernel handlers and slip past a filter comparing plain numbers; they must be refused (SIGSYS, RE, or ENOSYS) and no connection may be made.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstdio>

int main() {
    int port;
    if (std::scanf("%d", &port) != 1) return 0;
    const long x32 = 0x40000000L;
    long fd = syscall(x32 | SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (syscall(x32 | SYS_connect, fd, &a, sizeof a) == 0) std::printf("ESCAPED\n");
    else std::printf("ESCAPED socket only\n");
    return 0;
}
