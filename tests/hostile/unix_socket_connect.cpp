// expect: AC|RE
// input: {SOCKET}
// escape: connect
// why: connects to a unix-domain socket on the host (e.g. a daemon's control socket) by path; socket() must be refused, so ESCAPED is never printed and the listener sees nothing.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

int main() {
    std::string path;
    std::getline(std::cin, path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) {
        std::perror("socket");
        return 0;
    }
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        (void)!write(s, "ESCAPED\n", 8);
        std::printf("ESCAPED\n");
    }
    return 0;
}
