// Landlock: the only paths a run may open, with the rights the request grants.
#pragma once

#include "request.h"

int landlock_abi();
// Must run before privileges drop: rules are anchored on paths opened with our rights.
// Returns the ruleset descriptor, or -1 when the kernel has no Landlock.
int build_landlock(const Request& r, int abi);
void restrict_self(int ruleset);
