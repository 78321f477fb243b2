#include "common.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

std::string g_request_id = "0";
int g_error_fd = -1;

// Bytes >= 0x80 pass through: paths are UTF-8 (or arbitrary bytes Python decodes with
// surrogateescape), and escaping them one by one would turn them into other characters.
std::string json_escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string json_string(const std::string& text) { return "\"" + json_escape(text) + "\""; }

void emit(const std::string& line) {
  std::string text = line + "\n";
  (void)!write(1, text.data(), text.size());
}

void usage_error(const char* what) {
  emit("{\"id\":" + json_string(g_request_id) + ",\"setup_error\":" +
       json_string(std::string("launcher: ") + what) + "}");
  _exit(125);
}

void child_fail(const char* step) {
  char message[256];
  int n = std::snprintf(message, sizeof message, "%s: %s", step, std::strerror(errno));
  if (n > 0) (void)!write(g_error_fd, message, static_cast<size_t>(n));
  _exit(126);
}

long long to_number(const char* text) {
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') usage_error("bad number");
  return value;
}

bool write_file(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

long long read_counter(const std::string& path, const char* key) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buffer[4096];
  ssize_t n = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  if (n <= 0) return -1;
  buffer[n] = '\0';
  // cgroup v2 writes "max" for no limit
  if (key == nullptr) return std::strncmp(buffer, "max", 3) == 0 ? LLONG_MAX : std::atoll(buffer);
  const char* at = std::strstr(buffer, key);
  return at ? std::atoll(at + std::strlen(key)) : -1;
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }
