#include "request.h"

#include "common.h"

namespace {

bool to_flag(const char* text) {
  long long value = to_number(text);
  if (value != 0 && value != 1) usage_error("a flag must be 0 or 1");
  return value == 1;
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

std::string paths_of(const Request& r, Access access) {
  std::vector<std::string> selected;
  for (const PathRule& rule : r.paths)
    if (rule.access == access) selected.push_back(rule.path);
  return json_list(selected);
}

const char* yes(bool flag) { return flag ? "true" : "false"; }

}  // namespace

Request parse_request(int argc, char** argv, int first) {
  Request r;
  int i = first;
  for (; i < argc; ++i) {
    std::string key = argv[i];
    if (key == "--") break;
    if (i + 1 >= argc) usage_error("option without value");
    const char* v = argv[++i];
    if (key == "--profile") r.profile = v;
    else if (key == "--time-limit-ms") r.time_limit_ms = to_number(v);
    else if (key == "--wall-limit-ms") r.wall_limit_ms = to_number(v);
    else if (key == "--address-bytes") r.address_bytes = to_number(v);
    else if (key == "--stack-bytes") r.stack_bytes = to_number(v);
    else if (key == "--output-bytes") r.output_bytes = to_number(v);
    else if (key == "--memory-bytes") r.memory_bytes = to_number(v);
    else if (key == "--memory-by-rss") r.memory_by_rss = to_flag(v);
    else if (key == "--processes") r.processes = to_number(v);
    else if (key == "--open-files") r.open_files = to_number(v);
    else if (key == "--pid-namespace") r.pid_namespace = to_flag(v);
    else if (key == "--pin-cpu") r.pin_cpu = to_number(v);
    else if (key == "--uid") r.uid = to_number(v);
    else if (key == "--gid") r.gid = to_number(v);
    else if (key == "--cgroup") r.cgroups.emplace_back(v);
    else if (key == "--hide") r.hide.emplace_back(v);
    else if (key == "--name-refused-syscalls") r.name_refused_syscalls = to_flag(v);
    else if (key == "--stdin") r.stdin_path = v;
    else if (key == "--stdout") r.stdout_path = v;
    else if (key == "--stderr") r.stderr_path = v;
    else if (key == "--cwd") r.cwd = v;
    else if (key == "--read") r.paths.push_back({v, Access::Read});
    else if (key == "--exec") r.paths.push_back({v, Access::Exec});
    else if (key == "--write") r.paths.push_back({v, Access::Write});
    else if (key == "--env") r.env.emplace_back(v);
    else usage_error("unknown option");
  }
  for (++i; i < argc; ++i) r.program.emplace_back(argv[i]);
  if (r.program.empty()) usage_error("no program given after --");
  return r;
}

std::vector<char*> program_argv(const Request& r) {
  std::vector<char*> argv;
  for (const std::string& arg : r.program) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string request_json(const Request& r) {
  auto number = [](long long value) { return std::to_string(value); };
  auto optional = [](long long value) { return value < 0 ? std::string("null") : std::to_string(value); };
  return "{\"profile\":" + json_string(r.profile) + ",\"program\":" + json_list(r.program) +
         ",\"time_limit_ms\":" + number(r.time_limit_ms) + ",\"wall_limit_ms\":" + number(r.wall_limit_ms) +
         ",\"memory_bytes\":" + number(r.memory_bytes) + ",\"memory_by_rss\":" + yes(r.memory_by_rss) +
         ",\"address_bytes\":" + number(r.address_bytes) + ",\"stack_bytes\":" + number(r.stack_bytes) +
         ",\"output_bytes\":" + number(r.output_bytes) + ",\"processes\":" + number(r.processes) +
         ",\"open_files\":" + number(r.open_files) + ",\"pid_namespace\":" + yes(r.pid_namespace) +
         ",\"pin_cpu\":" + optional(r.pin_cpu) + ",\"uid\":" + optional(r.uid) +
         ",\"gid\":" + optional(r.gid) + ",\"cgroups\":" + json_list(r.cgroups) +
         ",\"hide\":" + json_list(r.hide) +
         ",\"name_refused_syscalls\":" + yes(r.name_refused_syscalls) +
         ",\"stdin\":" + json_string(r.stdin_path) + ",\"stdout\":" + json_string(r.stdout_path) +
         ",\"stderr\":" + json_string(r.stderr_path) + ",\"cwd\":" + json_string(r.cwd) +
         ",\"read\":" + paths_of(r, Access::Read) + ",\"execute\":" + paths_of(r, Access::Exec) +
         ",\"write\":" + paths_of(r, Access::Write) + ",\"env\":" + json_list(r.env) + "}";
}
