// expect: AC|RE
// escape: none
// why: ptrace (TRACEME, attach to pid 1 and the parent) and process_vm_readv would let it inspect or hijack other processes; all must fail, so ESCAPED is never printed.
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cstdio>

int main() {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) == 0) std::printf("ESCAPED traceme\n");
    pid_t targets[] = {1, getppid()};
    for (pid_t t : targets) {
        if (t > 0 && ptrace(PTRACE_ATTACH, t, nullptr, nullptr) == 0) std::printf("ESCAPED attach %d\n", t);
        if (t > 0 && ptrace(PTRACE_SEIZE, t, nullptr, nullptr) == 0) std::printf("ESCAPED seize %d\n", t);
        char buf[16];
        iovec local{buf, sizeof buf}, remote{reinterpret_cast<void*>(0x400000), sizeof buf};
        if (t > 1 && process_vm_readv(t, &local, 1, &remote, 1, 0) > 0) std::printf("ESCAPED vm_readv %d\n", t);
    }
    return 0;
}
