#include "server.h"

#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "request.h"
#include "run.h"

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

[[noreturn]] void runner_main(std::vector<std::string> fields) {
  signal(SIGCHLD, SIG_DFL);  // the server ignores it; wait4 needs it back
  g_request_id = fields[0];
  std::vector<char*> argv;
  for (std::string& f : fields) argv.push_back(f.data());  // fields[0] stands in for argv[0]
  Request r = parse_request(static_cast<int>(argv.size()), argv.data(), 1);
  _exit(run_once(r));
}

struct Runner {
  std::string id;
  int pidfd;
};

void handle_request(const std::string& line, std::vector<Runner>& runners) {
  std::vector<std::string> fields = split_tabs(line);
  if (fields.size() == 2 && fields[0] == "kill") {
    for (const Runner& r : runners)
      if (r.id == fields[1]) syscall(SYS_pidfd_send_signal, r.pidfd, SIGKILL, nullptr, 0);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) runner_main(fields);
  if (pid < 0) {
    g_request_id = fields[0];
    emit("{\"id\":" + json_string(fields[0]) + ",\"setup_error\":\"launcher: fork failed\"}");
    return;
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) runners.push_back({fields[0], pidfd});
}

}  // namespace

int serve() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGCHLD, SIG_IGN);  // runners are reaped by the kernel; pidfds tell us when they end
  std::vector<Runner> runners;
  std::string pending;
  char chunk[65536];
  for (;;) {
    std::vector<pollfd> fds{{0, POLLIN, 0}};
    for (const Runner& r : runners) fds.push_back({r.pidfd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (size_t i = fds.size() - 1; i >= 1; --i) {
      if (fds[i].revents == 0) continue;
      close(runners[i - 1].pidfd);
      runners.erase(runners.begin() + static_cast<long>(i - 1));
    }
    if (fds[0].revents == 0) continue;
    ssize_t n = read(0, chunk, sizeof chunk);
    if (n <= 0) {
      // The evaluator closed the pipe: stop everything still running.
      for (const Runner& r : runners) syscall(SYS_pidfd_send_signal, r.pidfd, SIGKILL, nullptr, 0);
      return 0;
    }
    pending.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      if (!line.empty()) handle_request(line, runners);
    }
  }
}
