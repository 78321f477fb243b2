// The child: from launcher to untrusted program (limits, namespaces, Landlock, seccomp, exec).
#pragma once

#include "request.h"

// What the child tells the launcher without a pipe (a shared page).
struct Shared {
  int hidden;  // 1 when the request's hide directories are overmounted
};

struct ChildArgs {
  const Request* request;
  int error_fd;     // setup failures, as text
  int status_fd;    // the init passes the program's wait status up here
  int stdin_fd;     // the test input (a sealed copy where the kernel has memfd)
  int notify_fd;    // -1, or the socket the seccomp listener is sent over
  int landlock_abi;
  bool as_init;
  Shared* shared;
};

// clone() entry point: the init of a new PID namespace, or the program itself.
int child_main(void* raw);
