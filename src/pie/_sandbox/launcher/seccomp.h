// seccomp: the profile's allow-list (rendered from pie/_sandbox/_policy.py into policy.h).
#pragma once

#include <string>

// The descriptor a run hands its notification listener over on (above any descriptor the
// program may open: RLIMIT_NOFILE stays below it, so nothing the program opens can use it).
constexpr int NOTIFY_SOCKET_FD = 1023;

// Installs the profile's filter.  With ``notify_socket`` >= 0 the run profile's default action
// is a user notification instead of a kill, and the listener is sent over that socket, so the
// launcher can name the refused call; where the kernel refuses a listener, the filter kills.
void install_seccomp(const std::string& profile, int notify_socket);
// The name of an x86-64 system call, or "" when unknown.
const char* syscall_name(long nr);
