// The agent's few host calls that Swift cannot make safely itself.
//
// - ioctl is variadic, and Swift does not import variadic C functions, so the KVM probe's
//   ioctls are made here.
// - Both the KVM probe and the supervised spawn fork. After fork in a multithreaded process
//   (the agent has NIO and Swift Concurrency threads) the child may only make
//   async-signal-safe calls until it execs or exits; Swift code cannot promise that (it may
//   allocate, take runtime locks), so everything between fork and exec/_exit is C that only
//   makes raw system calls.
#ifndef CBERTHHOST_H
#define CBERTHHOST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// MARK: KVM probe

/// The exit a probe guest must reach to prove that guests run.
enum berth_kvm_expected_exit {
    /// x86_64: an `out` of `exit_value` to port `exit_address`, then `hlt`.
    BERTH_KVM_EXIT_PORT_OUT_THEN_HLT = 1,
    /// aarch64: a store of `exit_value` (its low byte) to the unbacked address `exit_address`.
    BERTH_KVM_EXIT_MMIO_WRITE = 2,
};

/// A guest small enough to run in one page: its code, where it lives, and how it ends.
struct berth_kvm_guest {
    const uint8_t *code;
    size_t code_length;
    /// Guest-physical address of the page the code is copied to (page aligned).
    uint64_t memory_address;
    uint64_t memory_size;
    /// x86_64: where the vCPU starts (`rip`, in real mode with CS base 0). aarch64 sets `pc`
    /// through `register_ids` instead, like every other register.
    uint64_t entry;
    /// aarch64 only: registers set with KVM_SET_ONE_REG after KVM_ARM_VCPU_INIT.
    const uint64_t *register_ids;
    const uint64_t *register_values;
    uint32_t register_count;
    uint32_t expected_exit;
    uint64_t exit_address;
    uint8_t exit_value;
};

/// The probe's steps, in order; a failure names the step it happened in.
enum berth_kvm_step {
    BERTH_KVM_STEP_NONE = 0,
    BERTH_KVM_STEP_OPEN = 1,
    BERTH_KVM_STEP_API_VERSION = 2,
    BERTH_KVM_STEP_FORK = 3,
    BERTH_KVM_STEP_CREATE_VM = 4,
    BERTH_KVM_STEP_GUEST_MEMORY = 5,
    BERTH_KVM_STEP_CREATE_VCPU = 6,
    BERTH_KVM_STEP_VCPU_MMAP = 7,
    BERTH_KVM_STEP_VCPU_SETUP = 8,
    BERTH_KVM_STEP_RUN = 9,
    BERTH_KVM_STEP_UNEXPECTED_EXIT = 10,
    BERTH_KVM_STEP_TIMEOUT = 11,
    BERTH_KVM_STEP_CHILD_DIED = 12,
    BERTH_KVM_STEP_UNSUPPORTED_ARCH = 13,
};

struct berth_kvm_probe_result {
    /// The device opened and answered KVM_GET_API_VERSION.
    int present;
    int api_version;
    /// The guest reached its expected exit.
    int usable;
    /// Where it stopped (`BERTH_KVM_STEP_NONE` when usable).
    int failed_step;
    int error_number;
    /// The last KVM exit reason seen (for an unexpected exit), or the child's wait status.
    int detail;
    /// Milliseconds the child took (or was given, when it timed out).
    int elapsed_ms;
};

/// Opens `device`, checks the API version, then runs `guest` in a forked child that is killed
/// with SIGKILL when `timeout_ms` passes. Blocks the calling thread for at most about
/// `timeout_ms`. Always fills `result`.
void berth_kvm_probe(const char *device, const struct berth_kvm_guest *guest, int timeout_ms,
                     struct berth_kvm_probe_result *result);

// MARK: Supervised spawn

/// What `berth_spawn_supervised` reports.
struct berth_spawn_result {
    /// The workload's pid, or -1.
    pid_t pid;
    /// The keeper's pid (it waits for the workload and records how it ended), or -1.
    pid_t keeper_pid;
    /// 0, or the step that failed: 1 fork, 2 keeper setup, 3 exec, 4 report lost.
    int failed_step;
    int error_number;
};

/// Starts `path` with `argv` and `envp` in a new session, detached from the caller: the caller
/// forks a short-lived child that calls setsid and forks the keeper, so the keeper and the
/// workload are reparented to init and outlive the caller. The workload is its own process
/// group (so a terminate reaches its children). Its stdin is /dev/null; its stdout and stderr
/// go through pipes to the keeper, which copies at most `output_limit` bytes of each into
/// `stdout_fd`/`stderr_fd` and counts the rest. When the workload ends, the keeper writes
/// `status_path` (through `status_temp_path` and rename) as lines:
/// `exit N` or `signal N`, then `stdout_dropped N`, `stderr_dropped N`.
/// `path` must be absolute (no PATH search happens after fork). `cwd` may be NULL.
void berth_spawn_supervised(const char *path, char *const argv[], char *const envp[], const char *cwd,
                            int stdout_fd, int stderr_fd, int64_t output_limit, const char *status_path,
                            const char *status_temp_path, struct berth_spawn_result *result);

#endif
