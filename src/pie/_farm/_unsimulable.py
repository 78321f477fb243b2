"""gem5's own words for a program its syscall emulation cannot run, read from its log.

The patterns are the messages gem5 v20.1.0.5 (the version PIE timed with, and the one pie's
gem5 image builds) prints, as recorded from the real build in ``tests/farm/real/``:

- ``fatal: syscall newfstatat (#262) unimplemented.`` (sim/syscall_emul.cc): a syscall in
  gem5's table with no implementation;
- ``fatal: Syscall 318 out of range`` (sim/syscall_desc.hh): past the end of the table, which
  for x86-64 stops at #313 (gem5 prints only the number, so the name comes from Linux's table);
- ``panic: Unrecognized/invalid instruction executed:`` and a dump of the decoded bytes
  (arch/x86/faults.cc): e.g. AVX2's ``vpbroadcastd`` or FMA, which v20.1 does not decode (it
  runs some 256-bit AVX instructions as their 128-bit SSE forms instead, silently: that shows
  only as a wrong output);
- ``panic: Tried to write unmapped address 0x7fffff7fe2c0.`` (arch/x86/faults.cc): a page
  fault gem5 cannot map; below x86-64's 8 MiB stack it is the stack outgrowing its limit
  (sim/mem_state.cc grows the stack a page at a time only down to that limit);
- ``warn: Address 0x12c7dda0 is outside of physical memory, stopping fetch``: the program's
  pages went past the memory the Skylake config backs, and the CPU stopped until the
  simulated-time budget ran out.

The log is gem5's stdout and stderr, which the guest shares: a message read from it only
explains a failure the exit status already proved, it never makes a time.
"""

from __future__ import annotations

import re

# x86-64 Linux syscall numbers past the end of gem5 v20.1's table (#313, finit_module), from
# the kernel's arch/x86/entry/syscalls/syscall_64.tbl
# fmt: off
_PAST_313 = (
    "sched_setattr", "sched_getattr", "renameat2", "seccomp", "getrandom", "memfd_create",
    "kexec_file_load", "bpf", "execveat", "userfaultfd", "membarrier", "mlock2",
    "copy_file_range", "preadv2", "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free",
    "statx", "io_pgetevents", "rseq",
)
_FROM_424 = (
    "pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "pidfd_open", "clone3",
    "close_range", "openat2", "pidfd_getfd", "faccessat2", "process_madvise", "epoll_pwait2",
    "mount_setattr", "quotactl_fd", "landlock_create_ruleset", "landlock_add_rule",
    "landlock_restrict_self", "memfd_secret", "process_mrelease", "futex_waitv",
    "set_mempolicy_home_node",
)
# fmt: on
_LINUX_X86_64 = dict(enumerate(_PAST_313, start=314)) | dict(enumerate(_FROM_424, start=424))
# gem5's x86-64 SE layout (arch/x86/process.cc): the stack ends below 0x7FFFFFFFF000 at most
# 8 MiB down; mmap'ed pages grow down from 0x7FFFF7FFF000.  An address between the two is
# neither: a frame past the stack's limit.
_STACK_LIMIT = 0x7FFFFFFFF000 - 8 * 1024 * 1024
_MMAP_END = 0x7FFFF7FFF000
_PIE = "gem5 v20.1, which PIE timed with, cannot either"

_UNIMPLEMENTED = re.compile(r"syscall (\w{1,40}) \(#(\d{1,6})\) unimplemented")
_OUT_OF_RANGE = re.compile(r"Syscall (-?\d{1,10}) out of range")  # an int, as gem5 prints it
_INSTRUCTION = re.compile(r"Unrecognized/invalid instruction executed:")
_VEX = re.compile(r"vex/xop = (0x[0-9a-f]{1,8}|0),")
_OPCODE = re.compile(r"type = ([\w ]{1,40}),\s*op = (0x[0-9a-f]{1,4}),")
_UNMAPPED = re.compile(r"Tried to (read|write|execute) unmapped address (0x[0-9a-f]{1,16})\.")
_STACK_EXCEEDED = re.compile(r"Maximum stack size exceeded")
_NO_MEMORY = re.compile(r"Address (0x[0-9a-f]{1,16}) is outside of physical memory")
_UNIMPLEMENTED_INSTRUCTION = re.compile(r"warn: instruction '(\w{1,60})' unimplemented")


def unsimulable(log: str) -> str | None:
    """What gem5 said it cannot run, in the user's words, or None when it said nothing of it."""
    for reason in (_syscall, _instruction, _stack):
        said = reason(log)
        if said is not None:
            return said
    return None


def outside_memory(log: str) -> bool:
    """Whether gem5 stopped fetching from an address outside the config's memory."""
    return _NO_MEMORY.search(log) is not None


def unimplemented_instructions(log: str) -> list[str]:
    """The instructions gem5 warned it ran as no-ops (their results are then wrong)."""
    return sorted({found[1] for found in _UNIMPLEMENTED_INSTRUCTION.finditer(log)})


def _syscall(log: str) -> str | None:
    found = _UNIMPLEMENTED.search(log)
    if found:
        return (
            f"unimplemented syscall {found[1]} (#{found[2]}): gem5's syscall emulation has no "
            f"implementation of it ({_PIE})"
        )
    found = _OUT_OF_RANGE.search(log)
    if found:
        number = int(found[1])
        name = _LINUX_X86_64.get(number)
        called = f"{name} (#{number})" if name else f"#{number}"
        return (
            f"unknown syscall {called}: it is past the end of gem5's syscall table ({_PIE}; "
            "its x86-64 table ends at #313)"
        )
    return None


def _instruction(log: str) -> str | None:
    start = _INSTRUCTION.search(log)
    if start is None:
        return None
    dump = log[start.end() : start.end() + 400]
    vex, opcode = _VEX.search(dump), _OPCODE.search(dump)
    what = f" ({opcode[1]} opcode {opcode[2]})" if opcode else ""
    if vex and int(vex[1], 16):
        return (
            f"a VEX-encoded (AVX2, FMA or AVX) instruction gem5 does not decode{what} ({_PIE}); "
            'compile gem5-bound code without #pragma GCC target("avx...") or -mavx'
        )
    return f"an instruction gem5 does not decode{what} ({_PIE})"


def _stack(log: str) -> str | None:
    if _STACK_EXCEEDED.search(log):
        return f"the stack outgrew gem5's 8 MiB limit ({_PIE})"
    found = _UNMAPPED.search(log)
    if found is None:
        return None
    address = int(found[2], 16)
    if _MMAP_END <= address < _STACK_LIMIT:
        return (
            f"the stack outgrew gem5's 8 MiB limit: a {found[1]} at {found[2]}, below the "
            f"lowest stack address {_STACK_LIMIT:#x} ({_PIE}; natively the program had more)"
        )
    return f"gem5 could not map the address of a {found[1]} at {found[2]} (a page fault)"
