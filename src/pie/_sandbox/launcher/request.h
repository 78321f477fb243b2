// One launch request: the options Python's pie._sandbox._request.LaunchRequest renders.
// Both sides name every field alike; ``--echo-request`` prints what was parsed, so a test can
// check that any request Python builds reaches the launcher unchanged.
#pragma once

#include <string>
#include <vector>

enum class Access { Read, Exec, Write };

struct PathRule {
  std::string path;
  Access access;
};

struct Request {
  std::string profile = "run";
  long long time_limit_ms = 10000;  // Limits.time_limit: CPU time (RLIMIT_CPU), milliseconds
  long long wall_limit_ms = 20000;  // Limits.wall_limit: wall-clock time, milliseconds
  long long address_bytes = 0;  // RLIMIT_AS; 0: none
  long long stack_bytes = 0;
  long long output_bytes = 0;   // RLIMIT_FSIZE
  long long memory_bytes = 0;   // the memory limit (cgroup, or the resident-size watch)
  bool memory_by_rss = false;   // no memory cgroup: watch the resident size instead
  long long processes = 0;      // RLIMIT_NPROC and pids.max
  long long open_files = 64;
  bool pid_namespace = true;
  long long pin_cpu = -1;       // pin the program to this CPU (wall-clock timing)
  long long uid = -1;
  long long gid = -1;
  std::vector<std::string> cgroups;
  std::vector<std::string> hide;  // directories overmounted with an empty one (mount namespace)
  bool name_refused_syscalls = true;
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";
  std::string stderr_path = "/dev/null";
  std::string cwd = "/";
  std::vector<PathRule> paths;
  std::vector<std::string> env;
  std::vector<std::string> program;
};

Request parse_request(int argc, char** argv, int first);
std::string request_json(const Request& r);
// argv for execve (pointers into r.program, null-terminated)
std::vector<char*> program_argv(const Request& r);
