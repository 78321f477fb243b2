// expect: AC|WA|RE
// input: {CANARY}
// escape: file|process
// why: the classic double fork + setsid daemon re-executes itself with the canary path in its command line, outlives the judged process and writes the canary 2 s later; process creation must fail (or the daemon must die with the PID namespace), so no canary file and no canary process remain.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

static void daemon_body(const char* canary) {
    sleep(2);  // be long gone from the judged process's point of view
    int fd = open(canary, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        (void)!write(fd, "daemon\n", 7);
        close(fd);
    }
    sleep(60);  // linger so a process check can see us too
}

static void become_daemon(char* self, const std::string& canary) {
    syscall(SYS_setsid);  // raw: a refused setsid must not stop the attempt
    pid_t second = fork();
    if (second != 0) _exit(0);  // first child exits, the grandchild is orphaned
    char* args[] = {self, const_cast<char*>("--pie-daemon"), const_cast<char*>(canary.c_str()), nullptr};
    execv("/proc/self/exe", args);
    execv(self, args);
    daemon_body(canary.c_str());  // exec refused: run the body in place
    _exit(0);
}

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--pie-daemon") == 0) {
        daemon_body(argv[2]);
        return 0;
    }
    std::string canary;
    std::getline(std::cin, canary);
    // Every way to make a new process: fork, vfork, raw clone (also with CLONE_PARENT).
    pid_t pid = fork();
    if (pid < 0) pid = static_cast<pid_t>(syscall(SYS_vfork));
    if (pid < 0) pid = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (pid < 0) pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
    if (pid == 0) become_daemon(argv[0], canary);
    if (pid > 0) std::printf("FORKED\n");
    return 0;  // the parent returns at once, leaving the daemon behind
}
