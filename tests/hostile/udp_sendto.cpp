// expect: AC|RE
// input: {PORT}
// escape: connect
// why: sends a UDP datagram to loopback (connectionless exfiltration a TCP-only check would miss); socket() must be refused, so ESCAPED is never printed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cstdio>

int main() {
    int port;
    if (std::scanf("%d", &port) != 1) return 0;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
        std::perror("socket");
        return 0;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(s, "ESCAPED\n", 8, 0, reinterpret_cast<sockaddr*>(&a), sizeof a) > 0)
        std::printf("ESCAPED\n");
    return 0;
}
