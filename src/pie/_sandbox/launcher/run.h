// One run: start the child, wait with a wall-clock limit (and a resident-size watch, and the
// seccomp listener), clean up, report one JSON line.
#pragma once

#include "request.h"

// The process that calls this is used up by it.
int run_once(const Request& r);
