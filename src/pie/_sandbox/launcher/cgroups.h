// The slot's cgroups, v1 (one group per controller) or v2 (one group, all controllers).  Python's
// pie._sandbox._cgroups creates the groups; the launcher sets their limits, moves the run into
// them, reads the OOM counter and kills what is left.  Which version a group is follows from its
// files: v1 has memory.limit_in_bytes, v2 memory.max and cgroup.kill.
#pragma once

#include "request.h"

// Called in the child before it drops privileges: the run joins the groups before it can
// allocate or fork.  ``extra`` counts the launcher's own processes in the group (an init).
bool join_cgroups(const Request& r, int extra);
long long oom_kills(const Request& r);
// After the run: nothing in the slot's groups may survive it.
void kill_cgroup_members(const Request& r);
