#!/usr/bin/python3 -I
"""pie-gem5-jail: run a command (gem5) confined by Landlock to the files it needs.

    pie-gem5-jail [--read PATH]... [--write PATH]... -- COMMAND [ARG]...
    pie-gem5-jail --probe

gem5 in syscall-emulation mode opens whatever path its guest names, with gem5's own rights:
a guest could open /proc/self/mem and rewrite gem5's statistics or its exit report, or read
another job's folder.  This wrapper restricts the process (and everything it starts) before it
execs COMMAND: read and execute beneath the system library trees (gem5's shared libraries,
its Python, and the ld.so, libc, libstdc++, libm and libgcc_s a dynamically linked guest
loads), /etc/ld.so.cache and /dev/urandom, and beneath each --read PATH (gem5's binary, its
config tree); read and write of /dev/null; everything beneath each --write PATH (the job's
folder).  Nothing else, /proc and /tmp included, can be opened.  TCP bind/connect (Landlock
ABI >= 4) and signals or abstract sockets leaving the process tree (ABI >= 6) are refused too.
Descriptors already open (the job's stdin, stdout, stderr and report pipe) stay usable.

Where the kernel has no Landlock (or a container's seccomp profile refuses its system calls),
COMMAND runs unconfined and a line saying so goes to stderr: pie names such a host weaker in
``pie farm check``.  --probe prints ``landlock N`` (the ABI) or ``none REASON`` and exits 0.
Any other failure exits 125 before COMMAND runs.

Python 3.8 compatible (the gem5 host image's Python), no dependencies: ctypes and the raw
system calls (444-446 on every architecture).
"""

import ctypes
import errno
import os
import stat
import struct
import sys

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
ABI1_ALL = (1 << 13) - 1  # execute ... make_sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # valid on a non-directory
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2

READ = EXECUTE | READ_FILE | READ_DIR
# beneath these, read-only: gem5's libraries and Python, the guest's ld.so/libc/libstdc++ etc.
SYSTEM_READ = (
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/etc/ld.so.cache",
    "/dev/urandom",
)
SYSTEM_WRITE_FILES = ("/dev/null",)
FAILED = 125

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class JailError(Exception):
    pass


def _syscall(number, *args):
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        return -ctypes.get_errno()
    return result


def abi():
    """The kernel's Landlock ABI version, or a negative errno when it has none."""
    return _syscall(
        CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION)
    )


def unavailable(code):
    return "none " + (errno.errorcode.get(-code, str(-code)) + ": " + os.strerror(-code))


def handled_fs(version):
    rights = ABI1_ALL
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    if version >= 5:
        rights |= IOCTL_DEV
    return rights


def ruleset_attr(version):
    """struct landlock_ruleset_attr, as long as this ABI knows it."""
    fs = handled_fs(version)
    if version >= 6:
        scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        return struct.pack("=QQQ", fs, NET_BIND_TCP | NET_CONNECT_TCP, scoped)
    if version >= 4:
        return struct.pack("=QQ", fs, NET_BIND_TCP | NET_CONNECT_TCP)
    return struct.pack("=Q", fs)


def add_rule(ruleset, path, rights, version, required):
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        if required:
            raise JailError(f"{path} does not exist") from None
        return
    try:
        allowed = rights & handled_fs(version)
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            allowed &= FILE_RIGHTS
        rule = ctypes.create_string_buffer(struct.pack("=Qi", allowed, fd), 12)
        code = _syscall(
            ADD_RULE,
            ctypes.c_int(ruleset),
            ctypes.c_int(RULE_PATH_BENEATH),
            rule,
            ctypes.c_uint32(0),
        )
        if code < 0:
            raise JailError(f"cannot allow {path}: {os.strerror(-code)}")
    finally:
        os.close(fd)


def confine(version, reads, writes):
    attr = ruleset_attr(version)
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(CREATE_RULESET, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise JailError(f"cannot create a Landlock ruleset: {os.strerror(-ruleset)}")
    try:
        for path in SYSTEM_READ:
            add_rule(ruleset, path, READ, version, required=False)
        for path in SYSTEM_WRITE_FILES:
            add_rule(ruleset, path, READ_FILE | WRITE_FILE | TRUNCATE, version, required=False)
        for path in reads:  # a missing one (a PYTHONPATH entry, say) is nothing to allow
            add_rule(ruleset, path, READ, version, required=False)
        for path in writes:
            add_rule(ruleset, path, handled_fs(version), version, required=True)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise JailError(f"cannot set no_new_privs: {os.strerror(ctypes.get_errno())}")
        code = _syscall(RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
        if code < 0:
            raise JailError(f"cannot enforce the Landlock ruleset: {os.strerror(-code)}")
    finally:
        os.close(ruleset)


USAGE = "usage: pie-gem5-jail [--read PATH]... [--write PATH]... -- COMMAND | --probe"


def parse(argv):
    """(reads, writes, command); command is None for --probe."""
    reads, writes = [], []
    rest = list(argv)
    while rest and rest[0] != "--":
        option = rest.pop(0)
        if option == "--probe" and not rest:
            return reads, writes, None
        if option not in ("--read", "--write") or not rest:
            raise JailError(USAGE)
        (reads if option == "--read" else writes).append(os.path.abspath(rest.pop(0)))
    if len(rest) < 2:
        raise JailError(USAGE)
    return reads, writes, rest[1:]


def main(argv):
    try:
        reads, writes, command = parse(argv)
        if command is None:
            version = abi()
            print(f"landlock {version}" if version > 0 else unavailable(version))
            return 0
        version = abi()
        if version > 0:
            confine(version, reads, writes)
        else:
            why = unavailable(version)
            sys.stderr.write(f"pie-gem5-jail: gem5 runs UNCONFINED (Landlock {why})\n")
            sys.stderr.flush()
    except JailError as error:
        sys.stderr.write(f"fatal: pie-gem5-jail: {error}\n")
        return FAILED
    try:
        os.execv(command[0], command)
    except OSError as error:
        sys.stderr.write(f"fatal: pie-gem5-jail: cannot run {command[0]}: {error.strerror}\n")
        return FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
