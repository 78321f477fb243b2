// pie's TCG plugin for qemu-user 7.2: exact counts of one run of an untrusted program.
//
// Loaded by qemu-x86_64 with `-plugin pie-plugin.so,key=<secret>,out=<report file>`.  The
// counters live in this plugin's memory, which the guest's instructions never address (guest
// addresses are translated by qemu; see docs/SECURITY.md for what is left of that), and the guest
// has no way to call the plugin.  At exit the plugin overwrites the report file with one line
// carrying the secret key; the evaluator accepts that line and nothing else.
//
// Counted per run: instructions (per translated block), loads and stores (per memory access),
// L1I and L1D misses (32 KiB, 16-way, 64-byte lines, LRU: the geometry of PIE's gem5 Skylake
// configuration), misses of a unified last-level cache (2 MiB, 16-way) behind both, conditional
// branches and the mispredictions of a gshare predictor, and the start-up instructions (those
// of the main thread before the program's own code first runs: loader, libc, shared libraries'
// initialisers).  Static initialisers of the program count as work.
//
// System calls that would take the run out of the instrument or outlive it (execve, fork,
// SysV IPC, tracing) end the run with a refusal naming the call, and so does a second thread:
// PIE's gem5 simulates one CPU and answers a thread's clone with EAGAIN, and threads running
// side by side on the host would make the counts depend on how they interleave.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// ---- the part of QEMU 7.2's plugin API used here (no header is shipped by Debian) -----------
// Declared from the documented API of QEMU_PLUGIN_VERSION 1.

typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
typedef struct {
  const char* target_name;
  struct {
    int min;
    int cur;
  } version;
  bool system_emulation;
  union {
    struct {
      int smp_vcpus;
      int max_vcpus;
    } system;
  };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t, struct qemu_plugin_tb*);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int, void*);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t, void*);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int, qemu_plugin_meminfo_t, uint64_t, void*);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t, unsigned int, int64_t, uint64_t,
                                              uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                                              uint64_t, uint64_t);

#define EXPORT __attribute__((visibility("default")))
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, qemu_plugin_vcpu_tb_trans_cb_t);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb*, qemu_plugin_vcpu_udata_cb_t,
                                          enum qemu_plugin_cb_flags, void*);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn*, qemu_plugin_vcpu_mem_cb_t,
                                      enum qemu_plugin_cb_flags, enum qemu_plugin_mem_rw, void*);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t, qemu_plugin_vcpu_syscall_cb_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, qemu_plugin_udata_cb_t, void*);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb*);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb*);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb*, size_t);
const void* qemu_plugin_insn_data(const struct qemu_plugin_insn*);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn*);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn*);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t);
uint64_t qemu_plugin_start_code(void);
uint64_t qemu_plugin_end_code(void);
uint64_t qemu_plugin_entry_code(void);

EXPORT int qemu_plugin_version = 1;

// ---- caches ------------------------------------------------------------------------------------

enum { LINE_BITS = 6, WAYS = 16, L1_SETS = 32 /* 32 KiB */, LL_SETS = 2048 /* 2 MiB */ };

typedef struct {
  unsigned sets;
  uint64_t tags[LL_SETS][WAYS];  // per set, most recently used first; 0 = empty
} Cache;

static Cache g_l1i, g_l1d, g_ll;

// True on a hit.  Tags are line numbers + 1 so that 0 marks an empty way.
static bool cache_access(Cache* cache, uint64_t line) {
  uint64_t* set = cache->tags[line % cache->sets];
  uint64_t tag = line + 1;
  if (set[0] == tag) return true;
  int way = 1;
  while (way < WAYS && set[way] != tag) ++way;
  bool hit = way < WAYS;
  if (!hit) way = WAYS - 1;
  memmove(set + 1, set, (size_t)way * sizeof set[0]);
  set[0] = tag;
  return hit;
}

// ---- counters ------------------------------------------------------------------------------

enum { HISTORY_BITS = 14 };

// One guest thread only (see the header), so one set of counters and no locking.
typedef struct {
  uint64_t instructions, loads, stores, branches, mispredicts, startup;
  uint64_t l1i_misses, l1d_misses, ll_misses;
  const struct Block* pending_branch;  // the block that ended in a conditional branch
  bool work_started;
  bool entry_seen;
} Counters;

typedef struct Block {
  uint64_t vaddr;
  uint64_t first_line, last_line;
  uint64_t fallthrough;  // address after the final conditional branch, if any
  uint64_t branch_pc;
  uint32_t instructions;
  bool conditional_branch;
  bool in_program;
} Block;

static Counters g_counts;
static uint8_t g_predictor[1u << HISTORY_BITS];  // 2-bit saturating counters, start weakly taken
static uint32_t g_history;
static uint64_t g_start_code, g_end_code, g_entry;
static char g_key[80];
static char g_out[4096];
static const char* g_refusal;

static void access_line(Cache* l1, uint64_t* l1_misses, uint64_t line) {
  if (cache_access(l1, line)) return;
  ++*l1_misses;
  if (!cache_access(&g_ll, line)) ++g_counts.ll_misses;
}

static void predict(uint64_t pc, bool taken, Counters* v) {
  uint32_t index = (uint32_t)((pc ^ (pc >> HISTORY_BITS)) ^ g_history) & ((1u << HISTORY_BITS) - 1);
  uint8_t counter = g_predictor[index];
  if ((counter >= 2) != taken) ++v->mispredicts;
  if (taken && counter < 3) ++counter;
  if (!taken && counter > 0) --counter;
  g_predictor[index] = counter;
  g_history = ((g_history << 1) | (taken ? 1u : 0u)) & ((1u << HISTORY_BITS) - 1);
}

static void on_block(unsigned int vcpu_index, void* data) {
  (void)vcpu_index;
  const Block* b = data;
  Counters* v = &g_counts;
  if (v->pending_branch != NULL) {
    predict(v->pending_branch->branch_pc, b->vaddr != v->pending_branch->fallthrough, v);
    v->pending_branch = NULL;
  }
  if (b->conditional_branch) {
    ++v->branches;
    v->pending_branch = b;
  }
  if (!v->work_started) {
    // The program's own code starts the work: anything in its image but the ELF entry's first
    // block (crt's _start, which only calls libc's start-up).
    if (b->in_program && (b->vaddr != g_entry || v->entry_seen)) v->work_started = true;
    if (b->in_program && b->vaddr == g_entry) v->entry_seen = true;
  }
  if (!v->work_started) v->startup += b->instructions;
  v->instructions += b->instructions;
  for (uint64_t line = b->first_line; line <= b->last_line; ++line)
    access_line(&g_l1i, &v->l1i_misses, line);
}

static void on_memory(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                      void* data) {
  (void)data, (void)vcpu_index;
  Counters* v = &g_counts;
  uint64_t size = 1ull << qemu_plugin_mem_size_shift(info);
  if (qemu_plugin_mem_is_store(info))
    ++v->stores;
  else
    ++v->loads;
  uint64_t first = vaddr >> LINE_BITS, last = (vaddr + size - 1) >> LINE_BITS;
  for (uint64_t line = first; line <= last; ++line)
    access_line(&g_l1d, &v->l1d_misses, line);
}

// x86 conditional branches: Jcc rel8 (70-7F), LOOPcc/LOOP/JrCXZ (E0-E3), Jcc rel32 (0F 80-8F).
static bool is_conditional_branch(const uint8_t* code, size_t size) {
  size_t i = 0;
  while (i < size && (code[i] == 0x26 || code[i] == 0x2e || code[i] == 0x36 || code[i] == 0x3e ||
                      code[i] == 0x64 || code[i] == 0x65 || code[i] == 0x66 || code[i] == 0x67 ||
                      code[i] == 0xf2 || code[i] == 0xf3 || (code[i] & 0xf0) == 0x40))
    ++i;
  if (i >= size) return false;
  uint8_t op = code[i];
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) return true;
  return op == 0x0f && i + 1 < size && code[i + 1] >= 0x80 && code[i + 1] <= 0x8f;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  if (g_end_code == 0) {
    // The program is loaded by the time its first block is translated (not at install).
    g_start_code = qemu_plugin_start_code();
    g_end_code = qemu_plugin_end_code();
    g_entry = qemu_plugin_entry_code();
  }
  Block* b = calloc(1, sizeof *b);
  if (b == NULL) abort();
  struct qemu_plugin_insn* last = qemu_plugin_tb_get_insn(tb, n - 1);
  uint64_t end = qemu_plugin_insn_vaddr(last) + qemu_plugin_insn_size(last);
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->instructions = (uint32_t)n;
  b->first_line = b->vaddr >> LINE_BITS;
  b->last_line = (end - 1) >> LINE_BITS;
  b->in_program = b->vaddr >= g_start_code && b->vaddr < g_end_code;
  b->conditional_branch =
      is_conditional_branch(qemu_plugin_insn_data(last), qemu_plugin_insn_size(last));
  b->branch_pc = qemu_plugin_insn_vaddr(last);
  b->fallthrough = end;
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
  for (size_t i = 0; i < n; ++i)
    qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), on_memory,
                                     QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
}

// ---- the report ----------------------------------------------------------------------------

// ---- batch mode: the start-up once, then one forked child per test -------------------------
//
// With `plan=stdin`, the plugin reads the run's plan from its standard input at install (so the
// guest never sees it): a status file, then per test its input, its output file, its report
// file, its secret and its wall-clock limit.  The guest starts with /dev/null as stdin.  At the
// first system call whose result or effect could depend on the test (anything touching fds
// 0-2, any path outside the system's library folders, any call not known to be harmless), the
// plugin forks one child per test, in turn: the child takes the test's stdin and stdout and
// goes on with that very call, so every count is the fresh run's; the parent waits for it
// (bounded by the test's wall limit), records its status and forks the next.  What came
// before that call cannot have depended on the test, which is what makes the counts identical
// to one fresh process per test (a second thread, which fork would not copy, is refused).

enum { MAX_JOBS = 4096, PATH_SIZE = 1024 };

typedef struct {
  char input[PATH_SIZE], output[PATH_SIZE], report[PATH_SIZE], key[80];
  long wall_limit_ms;
} Job;

static Job* g_jobs;
static int g_job_count;
static char g_status[PATH_SIZE];
static bool g_batch_parent;  // batch mode, before the fork point
static int g_probe[2] = {-1, -1};  // a pipe to read guest strings without faulting

static void write_line(const char* path, const char* line, size_t n, int flags) {
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | flags);
  if (fd < 0) return;
  (void)!write(fd, line, n);
  close(fd);
}

static void write_report(void) {
  char line[1024];
  int n;
  if (g_refusal != NULL) {
    n = snprintf(line, sizeof line, "pie-qemu %s refused %s\n", g_key, g_refusal);
  } else {
    const Counters* t = &g_counts;
    n = snprintf(line, sizeof line,
                 "pie-qemu %s counts instructions=%llu loads=%llu stores=%llu l1i_misses=%llu "
                 "l1d_misses=%llu ll_misses=%llu branches=%llu mispredicts=%llu "
                 "startup_instructions=%llu\n",
                 g_key, (unsigned long long)t->instructions, (unsigned long long)t->loads,
                 (unsigned long long)t->stores, (unsigned long long)t->l1i_misses,
                 (unsigned long long)t->l1d_misses, (unsigned long long)t->ll_misses,
                 (unsigned long long)t->branches, (unsigned long long)t->mispredicts,
                 (unsigned long long)t->startup);
  }
  if (n <= 0) return;
  // O_TRUNC: whatever the guest may have written there before is gone.
  if (!g_batch_parent) {
    write_line(g_out, line, (size_t)n, O_TRUNC);
    return;
  }
  // the batch ended before any test-specific call: the same run stands for every test
  for (int i = 0; i < g_job_count; ++i) {
    char keyed[1200];
    const char* rest = strchr(line + strlen("pie-qemu "), ' ');
    int m = snprintf(keyed, sizeof keyed, "pie-qemu %s%s", g_jobs[i].key, rest ? rest : "\n");
    if (m > 0) write_line(g_jobs[i].report, keyed, (size_t)m, O_TRUNC);
  }
}

static void on_exit_report(qemu_plugin_id_t id, void* data) {
  (void)id;
  (void)data;
  write_report();
}

// The guest's last instruction has run and been counted: the report is final.  Ending here
// skips qemu's own exit path, which flushes the whole translation cache (in a forked child,
// copy-on-write faults over the server's tables: a fifth of a small test's cost); nothing of
// the guest runs there, so the counts are the same.
__attribute__((noreturn)) static void end_run(int status) {
  write_report();
  _exit(status & 0xff);
}

__attribute__((noreturn)) static void refuse(const char* reason) {
  g_refusal = reason;
  write_report();
  _exit(121);
}

// clone3 (435) is left to qemu 7.2, which does not implement it (ENOSYS: glibc falls back to
// clone, whose flags are seen here).
enum { CLONE_THREAD_FLAG = 0x00010000 };

static bool same_for_every_test(int64_t num, uint64_t a1, uint64_t a2, uint64_t a4, uint64_t a5);
static void fork_point(int64_t num);

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8) {
  (void)id, (void)vcpu_index, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
  switch (num) {
    case 59: case 322: refuse("execve (a new program would run outside the instrument)");
    case 57: case 58: refuse("fork (a child process would run outside the instrument)");
    case 56:
      if (a1 & CLONE_THREAD_FLAG)
        refuse("clone of a thread (timing runs one thread, as PIE's one-CPU gem5 does)");
      refuse("fork (a child process would run outside the instrument)");
    case 29: case 30: case 31: case 64: case 65: case 66: case 68: case 69: case 70: case 71:
      refuse("SysV IPC (its objects would outlive the run)");
    case 101: case 310: case 311: refuse("ptrace or process_vm (tracing)");
    case 60: case 231:  // exit, exit_group: with one thread, the end of the run
      if (!g_batch_parent) end_run((int)a1);
      break;
    default: break;
  }
  if (g_batch_parent && !same_for_every_test(num, a1, a2, a4, a5)) fork_point(num);
}

static bool split_field(char** cursor, char* into, size_t size, char end) {
  char* stop = strchr(*cursor, end);
  if (stop == NULL || (size_t)(stop - *cursor) >= size) return false;
  memcpy(into, *cursor, (size_t)(stop - *cursor));
  into[stop - *cursor] = '\0';
  *cursor = stop + 1;
  return true;
}

// The plan, from fd 0: "status\t<path>\n" then "<input>\t<output>\t<report>\t<key>\t<ms>\n"...
static bool read_plan(void) {
  size_t size = 0, capacity = 1 << 16;
  char* text = malloc(capacity + 1);
  if (text == NULL) return false;
  for (;;) {
    if (size == capacity) {
      if (capacity >= (16u << 20)) return false;
      capacity *= 2;
      char* grown = realloc(text, capacity + 1);
      if (grown == NULL) return false;
      text = grown;
    }
    ssize_t got = read(0, text + size, capacity - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return false;
    if (got == 0) break;
    size += (size_t)got;
  }
  text[size] = '\0';
  char* cursor = text;
  char word[16];
  if (!split_field(&cursor, word, sizeof word, '\t') || strcmp(word, "status") != 0) return false;
  if (!split_field(&cursor, g_status, sizeof g_status, '\n')) return false;
  g_jobs = calloc(MAX_JOBS, sizeof *g_jobs);
  if (g_jobs == NULL) return false;
  while (*cursor != '\0' && g_job_count < MAX_JOBS) {
    Job* j = &g_jobs[g_job_count];
    char wall_limit[32];
    if (!split_field(&cursor, j->input, PATH_SIZE, '\t') ||
        !split_field(&cursor, j->output, PATH_SIZE, '\t') ||
        !split_field(&cursor, j->report, PATH_SIZE, '\t') ||
        !split_field(&cursor, j->key, sizeof j->key, '\t') ||
        !split_field(&cursor, wall_limit, sizeof wall_limit, '\n'))
      return false;
    j->wall_limit_ms = strtol(wall_limit, NULL, 10);
    ++g_job_count;
  }
  free(text);
  // the plan leaves with its secrets; the guest starts on an empty stdin
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) < 0) return false;
  close(null);
  return g_job_count > 0 && pipe2(g_probe, O_CLOEXEC) == 0;
}

// The guest string at `address` (guest addresses are host addresses under qemu-user x86-64),
// read through a pipe so that a bad pointer is an error, not a fault.
static bool guest_string(uint64_t address, char* into, size_t size) {
  for (size_t done = 0; done + 1 < size; ++done) {
    if (write(g_probe[1], (const void*)(uintptr_t)(address + done), 1) != 1) return false;
    if (read(g_probe[0], into + done, 1) != 1) return false;
    if (into[done] == '\0') return true;
  }
  return false;
}

static bool is_system_path(uint64_t address) {
  static const char* const prefixes[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                         "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime"};
  char path[512];
  if (!guest_string(address, path, sizeof path) || strstr(path, "/..") != NULL) return false;
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; ++i)
    if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

enum { AT_EMPTY_PATH_FLAG = 0x1000, MAP_ANONYMOUS_FLAG = 0x20 };

// Calls that cannot observe or affect anything a test changes (its stdin, its stdout, the
// files around it): before the first other call, every test's run is the same.
static bool same_for_every_test(int64_t num, uint64_t a1, uint64_t a2, uint64_t a4, uint64_t a5) {
  switch (num) {
    case 0: case 3: case 5: case 8: case 17: case 19:  // read close fstat lseek pread readv
      return (int64_t)a1 >= 3;
    case 9:  // mmap
      return (a4 & MAP_ANONYMOUS_FLAG) || (int64_t)a5 >= 3;
    case 2: case 4: case 6: case 21: case 89:  // open stat lstat access readlink
      return is_system_path(a1);
    case 257: case 267: case 269: case 439:  // openat readlinkat faccessat faccessat2
      return is_system_path(a2);
    case 262: case 332:  // newfstatat statx
      return (a4 & AT_EMPTY_PATH_FLAG) ? (int64_t)a1 >= 3 : is_system_path(a2);
    case 10: case 11: case 12: case 13: case 14: case 24: case 25: case 28: case 39: case 63:
    case 79: case 96: case 97: case 99: case 102: case 104: case 107: case 108: case 110:
    case 131: case 158: case 186: case 201: case 202: case 204: case 218: case 228: case 273:
    case 318: case 334:
      return true;  // memory, signals' setup, ids, clocks, futexes, rseq, getrandom
    case 302:  // prlimit64: a limit set now binds every test alike
      return true;
    default:
      return false;
  }
}

static void forbid_forks(void) {
  // this child's guest code may not fork, even past the plugin (defence in depth)
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fork, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_vfork, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD_FLAG, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAGAIN),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {sizeof code / sizeof code[0], code};
  // Without privileges a filter needs no_new_privs: the sandbox has set it, a run outside it
  // (pie doctor's probe of the plugin, as a non-root user) has not.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(124);
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) _exit(124);
}

// Landlock (constants spelled out: headers lag the kernel).  A test's child may reach the
// system's libraries and its own test's files, never another test's: the run's grants cover
// every test of the batch, so without this layer one child could rewrite another's report.
enum { LL_READ_FILE = 1 << 2, LL_READ_DIR = 1 << 3, LL_WRITE_FILE = 1 << 1, LL_TRUNCATE = 1 << 14 };

typedef struct {
  uint64_t handled_access_fs;
} LandlockRuleset;

typedef struct __attribute__((packed)) {
  uint64_t allowed_access;
  int32_t parent_fd;
} LandlockPathBeneath;

static void allow_path(int ruleset, const char* path, uint64_t rights, bool directory) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return;  // an absent library folder is simply not granted
  LandlockPathBeneath rule = {directory ? rights : rights & ~(uint64_t)LL_READ_DIR, fd};
  if (syscall(445, ruleset, 1 /* path beneath */, &rule, 0) != 0) _exit(122);
  close(fd);
}

static void confine_to_job(const Job* job) {
  long abi = syscall(444, NULL, 0, 1 /* version */);
  if (abi <= 0) return;  // no Landlock: the run's own confinement is all there is
  uint64_t handled = (1ull << 13) - 1;
  if (abi >= 2) handled |= 1ull << 13;  // refer
  if (abi >= 3) handled |= LL_TRUNCATE;
  LandlockRuleset attr = {handled};
  int ruleset = (int)syscall(444, &attr, sizeof attr, 0);
  if (ruleset < 0) _exit(122);
  static const char* const libraries[] = {"/lib", "/lib64", "/usr/lib", "/usr/lib64"};
  for (size_t i = 0; i < sizeof libraries / sizeof libraries[0]; ++i)
    allow_path(ruleset, libraries[i], LL_READ_FILE | LL_READ_DIR, true);
  static const char* const files[] = {"/etc/ld.so.cache", "/etc/localtime", "/dev/urandom",
                                      "/dev/zero"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i)
    allow_path(ruleset, files[i], LL_READ_FILE, false);
  uint64_t write = (LL_READ_FILE | LL_WRITE_FILE | (abi >= 3 ? LL_TRUNCATE : 0)) & handled;
  allow_path(ruleset, "/dev/null", write, false);
  allow_path(ruleset, job->input, LL_READ_FILE, false);
  allow_path(ruleset, job->output, write, false);
  allow_path(ruleset, job->report, write, false);
  if (syscall(446, ruleset, 0) != 0) _exit(122);
  close(ruleset);
}

static void become_job(const Job* job) {
  int in = open(job->input, O_RDONLY | O_CLOEXEC);
  int out = open(job->output, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (in < 0 || out < 0 || null < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(null, 2) < 0)
    _exit(123);
  close(in), close(out), close(null);
  strcpy(g_key, job->key);
  strcpy(g_out, job->report);
  g_batch_parent = false;
  confine_to_job(job);
  forbid_forks();
}

// Waits for one test's child within its wall limit; returns its status line.
static int wait_job(pid_t child, long wall_limit_ms, char* line, size_t size) {
  int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  bool late = false;
  if (pidfd >= 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    int ready;
    do ready = poll(&p, 1, (int)wall_limit_ms); while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      late = true;
      kill(child, SIGKILL);
    }
    close(pidfd);
  }
  int status = 0;
  struct rusage usage;
  memset(&usage, 0, sizeof usage);
  while (wait4(child, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  long long cpu_us = usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec +
                     usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec;
  return snprintf(line, size, "status=%d cpu_us=%lld maxrss_kib=%ld wall_exceeded=%d\n", status,
                  cpu_us, usage.ru_maxrss, late ? 1 : 0);
}

// Returns only in a test's child, which then goes on with the guest's call `num`.
static void fork_point(int64_t num) {
  char head[128];
  int n = snprintf(head, sizeof head, "forked at syscall=%lld instructions=%llu\n",
                   (long long)num, (unsigned long long)g_counts.instructions);
  if (n > 0) write_line(g_status, head, (size_t)n, O_APPEND);
  for (int i = 0; i < g_job_count; ++i) {
    pid_t child = fork();
    if (child == 0) {
      become_job(&g_jobs[i]);
      return;
    }
    char line[256];
    int n = child < 0 ? snprintf(line, sizeof line, "status=fork-failed\n")
                      : wait_job(child, g_jobs[i].wall_limit_ms, line, sizeof line);
    if (n > 0) write_line(g_status, line, (size_t)n, O_APPEND);
  }
  _exit(0);
}

static bool copy_option(const char* arg, const char* name, char* into, size_t size) {
  size_t length = strlen(name);
  if (strncmp(arg, name, length) != 0 || arg[length] != '=') return false;
  const char* value = arg + length + 1;
  if (strlen(value) >= size) return false;
  strcpy(into, value);
  return true;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info, int argc,
                               char** argv) {
  if (info->system_emulation) return -1;
  char plan[16] = "";
  for (int i = 0; i < argc; ++i) {
    if (!copy_option(argv[i], "key", g_key, sizeof g_key) &&
        !copy_option(argv[i], "out", g_out, sizeof g_out) &&
        !copy_option(argv[i], "plan", plan, sizeof plan))
      return -1;
  }
  if (strcmp(plan, "stdin") == 0) {
    if (!read_plan()) return -1;
    g_batch_parent = true;
  } else if (g_key[0] == '\0' || g_out[0] == '\0') {
    return -1;
  } else {
    forbid_forks();  // a one-test run never forks
  }
  g_l1i.sets = L1_SETS;
  g_l1d.sets = L1_SETS;
  g_ll.sets = LL_SETS;
  memset(g_predictor, 2, sizeof g_predictor);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
  qemu_plugin_register_atexit_cb(id, on_exit_report, NULL);
  return 0;
}
