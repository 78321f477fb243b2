// Shared by every part of the launcher: reporting, small file helpers, numbers.
#pragma once

#include <string>

// Echoed in every result line, so a server's replies can be matched to requests.
extern std::string g_request_id;
// Where a child reports the step that failed before exec (a pipe to the launcher).
extern int g_error_fd;

std::string json_escape(const std::string& text);
std::string json_string(const std::string& text);
// One write of one line: results of concurrent runners never interleave on a pipe.
void emit(const std::string& line);
[[noreturn]] void usage_error(const char* what);
[[noreturn]] void child_fail(const char* step);
long long to_number(const char* text);
bool write_file(const std::string& path, const std::string& text);
// The number after ``key`` in a small text file (the whole file when key is null); -1 if absent.
long long read_counter(const std::string& path, const char* key);
bool exists(const std::string& path);
