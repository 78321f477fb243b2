#include "landlock.h"

#include <cstdint>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

// x86-64 numbers that glibc < 2.34 headers lack (Debian 11 / Ubuntu 20.04, glibc 2.31: the
// toolchain whose binaries a gem5 v20.1 host can load); the kernel decides at run time.
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

namespace {

// Landlock constants are spelled out because distribution headers lag the kernel.
constexpr uint64_t LL_FS_EXECUTE = 1ULL << 0;
constexpr uint64_t LL_FS_WRITE_FILE = 1ULL << 1;
constexpr uint64_t LL_FS_READ_FILE = 1ULL << 2;
constexpr uint64_t LL_FS_READ_DIR = 1ULL << 3;
constexpr uint64_t LL_FS_ALL_V1 = (1ULL << 13) - 1;
constexpr uint64_t LL_FS_REFER = 1ULL << 13;
constexpr uint64_t LL_FS_TRUNCATE = 1ULL << 14;
constexpr uint64_t LL_FS_IOCTL_DEV = 1ULL << 15;
constexpr uint64_t LL_NET_ALL = 3;    // bind and connect TCP
constexpr uint64_t LL_SCOPE_ALL = 3;  // abstract unix sockets and signals
constexpr int LL_RULE_PATH_BENEATH = 1;

struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct __attribute__((packed)) PathBeneath {
  uint64_t allowed_access;
  int32_t parent_fd;
};

uint64_t fs_rights(int abi) {
  uint64_t rights = LL_FS_ALL_V1;
  if (abi >= 2) rights |= LL_FS_REFER;
  if (abi >= 3) rights |= LL_FS_TRUNCATE;
  if (abi >= 5) rights |= LL_FS_IOCTL_DEV;
  return rights;
}

uint64_t rights_for(Access access, bool is_dir, uint64_t handled) {
  uint64_t read = LL_FS_READ_FILE | (is_dir ? LL_FS_READ_DIR : 0);
  uint64_t rights = read;
  if (access == Access::Exec) rights |= LL_FS_EXECUTE;
  if (access == Access::Write)
    rights = is_dir ? handled & ~LL_FS_EXECUTE : read | LL_FS_WRITE_FILE | LL_FS_TRUNCATE;
  return rights & handled;
}

}  // namespace

int landlock_abi() {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, 1U /* VERSION */);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

int build_landlock(const Request& r, int abi) {
  if (abi <= 0) return -1;
  RulesetAttr attr{fs_rights(abi), abi >= 4 ? LL_NET_ALL : 0, abi >= 6 ? LL_SCOPE_ALL : 0};
  size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0U));
  if (ruleset < 0) child_fail("landlock_create_ruleset");
  for (const PathRule& rule : r.paths) {
    int fd = open(rule.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // an absent library directory is simply not granted
    struct stat st;
    if (fstat(fd, &st) != 0) child_fail("fstat landlock path");
    PathBeneath beneath{rights_for(rule.access, S_ISDIR(st.st_mode), attr.handled_access_fs), fd};
    if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &beneath, 0U) != 0)
      child_fail("landlock_add_rule");
    close(fd);
  }
  return ruleset;
}

void restrict_self(int ruleset) {
  if (ruleset < 0) return;
  if (syscall(SYS_landlock_restrict_self, ruleset, 0U) != 0) child_fail("landlock_restrict_self");
  close(ruleset);
}
