#include "cgroups.h"

#include <climits>
#include <csignal>
#include <cstdlib>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "common.h"

namespace {

bool is_v1_memory(const std::string& dir) { return exists(dir + "/memory.limit_in_bytes"); }
bool is_v2_memory(const std::string& dir) { return exists(dir + "/memory.max"); }

// Writes a control file only when its value differs: cgroup writes are the slow part of a run.
bool ensure_value(const std::string& path, long long value) {
  return read_counter(path, nullptr) == value || write_file(path, std::to_string(value));
}

bool set_v1_memory(const std::string& dir, long long limit) {
  if (read_counter(dir + "/memory.limit_in_bytes", nullptr) == limit) return true;
  // memsw (where present) must never sit below the memory limit: raise it first, then set
  // both, so that swap cannot extend the limit.
  write_file(dir + "/memory.memsw.limit_in_bytes", std::to_string(LLONG_MAX / 2));
  if (!write_file(dir + "/memory.limit_in_bytes", std::to_string(limit))) return false;
  write_file(dir + "/memory.memsw.limit_in_bytes", std::to_string(limit));
  return true;
}

bool set_v2_memory(const std::string& dir, long long limit) {
  // no swap: a program past its limit is killed, not slowed down into swap
  if (exists(dir + "/memory.swap.max")) ensure_value(dir + "/memory.swap.max", 0);
  return ensure_value(dir + "/memory.max", limit);
}

}  // namespace

bool join_cgroups(const Request& r, int extra) {
  long long memory = r.memory_bytes > 0 ? r.memory_bytes : LLONG_MAX / 2;
  for (const std::string& dir : r.cgroups) {
    if (is_v1_memory(dir) && !set_v1_memory(dir, memory)) return false;
    if (is_v2_memory(dir) && !set_v2_memory(dir, memory)) return false;
    if (exists(dir + "/pids.max") && r.processes > 0 &&
        !ensure_value(dir + "/pids.max", r.processes + extra))
      return false;
    // "0" is the writer itself, in either version
    if (!write_file(dir + "/cgroup.procs", "0")) return false;
  }
  return true;
}

long long oom_kills(const Request& r) {
  long long total = 0;
  for (const std::string& dir : r.cgroups) {
    long long count = -1;
    if (is_v1_memory(dir)) count = read_counter(dir + "/memory.oom_control", "oom_kill ");
    else if (is_v2_memory(dir)) count = read_counter(dir + "/memory.events", "oom_kill ");
    if (count > 0) total += count;
  }
  return total;
}

void kill_cgroup_members(const Request& r) {
  for (const std::string& dir : r.cgroups) {
    if (exists(dir + "/cgroup.kill")) {
      write_file(dir + "/cgroup.kill", "1");  // v2: the kernel kills every member at once
      continue;
    }
    // v1: kill the members one by one until none is left (they cannot fork past pids.max)
    for (int round = 0; round < 100; ++round) {
      int fd = open((dir + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      char buffer[4096];
      ssize_t n = read(fd, buffer, sizeof buffer - 1);
      close(fd);
      if (n <= 0) break;
      buffer[n] = '\0';
      char* cursor = buffer;
      while (*cursor) {
        char* end = nullptr;
        long pid = std::strtol(cursor, &end, 10);
        if (end == cursor) break;
        if (pid > 0) kill(static_cast<pid_t>(pid), SIGKILL);
        cursor = end;
        while (*cursor == '\n') ++cursor;
      }
      usleep(1000);
    }
  }
}
