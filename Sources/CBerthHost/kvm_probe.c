// The KVM probe: presence in the caller, usability in a forked child that can be killed.
// A host can expose a /dev/kvm whose guests never run (nested virtualisation off) and some such
// hosts hang in KVM_RUN, so the guest runs where a SIGKILL can end it.
#define _GNU_SOURCE
#include "CBerthHost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// What the child writes back through the pipe.
struct child_report {
    int step;
    int error_number;
    int detail;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Async-signal-safe from here to `run_guest`'s end: raw system calls and memcpy only.
static struct child_report fail(int step, int detail) {
    struct child_report report = {step, errno, detail};
    return report;
}

static struct child_report setup_vcpu(int vm, int vcpu, const struct berth_kvm_guest *guest) {
#if defined(__x86_64__)
    (void)vm;
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 0);
    // Real mode with a flat code segment, so `rip` is the guest-physical address of the code.
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 1);
    struct kvm_regs regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = guest->entry;
    regs.rflags = 0x2;  // bit 1 is reserved and must be set
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 2);
    (void)guest->register_count;
#elif defined(__aarch64__)
    struct kvm_vcpu_init init;
    memset(&init, 0, sizeof init);
    if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 0);
    if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 1);
    for (uint32_t i = 0; i < guest->register_count; i++) {
        uint64_t value = guest->register_values[i];
        struct kvm_one_reg reg = {.id = guest->register_ids[i], .addr = (uint64_t)(uintptr_t)&value};
        if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0) return fail(BERTH_KVM_STEP_VCPU_SETUP, 2 + (int)i);
    }
#else
    (void)vm;
    (void)vcpu;
    (void)guest;
    errno = 0;
    return fail(BERTH_KVM_STEP_UNSUPPORTED_ARCH, 0);
#endif
    struct child_report ok = {BERTH_KVM_STEP_NONE, 0, 0};
    return ok;
}

static struct child_report run_guest(int kvm, const struct berth_kvm_guest *guest) {
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) return fail(BERTH_KVM_STEP_CREATE_VM, 0);
    void *memory = mmap(NULL, guest->memory_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return fail(BERTH_KVM_STEP_GUEST_MEMORY, 0);
    memcpy(memory, guest->code, guest->code_length);
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = guest->memory_address,
        .memory_size = guest->memory_size,
        .userspace_addr = (uint64_t)(uintptr_t)memory,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return fail(BERTH_KVM_STEP_GUEST_MEMORY, 1);
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) return fail(BERTH_KVM_STEP_CREATE_VCPU, 0);
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run)) return fail(BERTH_KVM_STEP_VCPU_MMAP, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) return fail(BERTH_KVM_STEP_VCPU_MMAP, 1);
    struct child_report setup = setup_vcpu(vm, vcpu, guest);
    if (setup.step != BERTH_KVM_STEP_NONE) return setup;

    int saw_out = 0;
    // A handful of exits is all the guest makes; more means it is not doing what we loaded.
    for (int exits = 0; exits < 16; exits++) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return fail(BERTH_KVM_STEP_RUN, 0);
        }
        uint32_t reason = run->exit_reason;
        if (guest->expected_exit == BERTH_KVM_EXIT_PORT_OUT_THEN_HLT) {
            if (reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT && run->io.port == guest->exit_address &&
                run->io.size == 1 && ((uint8_t *)run)[run->io.data_offset] == guest->exit_value) {
                saw_out = 1;
                continue;
            }
            if (reason == KVM_EXIT_HLT && saw_out) {
                struct child_report ok = {BERTH_KVM_STEP_NONE, 0, (int)reason};
                return ok;
            }
        } else if (guest->expected_exit == BERTH_KVM_EXIT_MMIO_WRITE) {
            if (reason == KVM_EXIT_MMIO && run->mmio.is_write && run->mmio.phys_addr == guest->exit_address &&
                run->mmio.data[0] == guest->exit_value) {
                struct child_report ok = {BERTH_KVM_STEP_NONE, 0, (int)reason};
                return ok;
            }
        }
        errno = 0;
        return fail(BERTH_KVM_STEP_UNEXPECTED_EXIT, (int)reason);
    }
    errno = 0;
    return fail(BERTH_KVM_STEP_UNEXPECTED_EXIT, -1);
}

void berth_kvm_probe(const char *device, const struct berth_kvm_guest *guest, int timeout_ms,
                     struct berth_kvm_probe_result *result) {
    memset(result, 0, sizeof *result);
    int kvm = open(device, O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        result->failed_step = BERTH_KVM_STEP_OPEN;
        result->error_number = errno;
        return;
    }
    int version = ioctl(kvm, KVM_GET_API_VERSION, 0);
    result->api_version = version;
    if (version != KVM_API_VERSION) {
        result->failed_step = BERTH_KVM_STEP_API_VERSION;
        result->error_number = version < 0 ? errno : 0;
        close(kvm);
        return;
    }
    result->present = 1;

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        result->failed_step = BERTH_KVM_STEP_FORK;
        result->error_number = errno;
        close(kvm);
        return;
    }
    int64_t started = now_ms();
    pid_t child = fork();
    if (child < 0) {
        result->failed_step = BERTH_KVM_STEP_FORK;
        result->error_number = errno;
        close(fds[0]);
        close(fds[1]);
        close(kvm);
        return;
    }
    if (child == 0) {
        close(fds[0]);
        struct child_report report = run_guest(kvm, guest);
        ssize_t ignored = write(fds[1], &report, sizeof report);
        (void)ignored;
        _exit(0);
    }
    close(fds[1]);
    close(kvm);

    struct child_report report;
    size_t received = 0;
    int timed_out = 0;
    while (received < sizeof report) {
        int64_t left = timeout_ms - (now_ms() - started);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int ready = poll(&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t n = read(fds[0], (char *)&report + received, sizeof report - received);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        received += (size_t)n;
    }
    close(fds[0]);
    result->elapsed_ms = (int)(now_ms() - started);
    if (received < sizeof report) kill(child, SIGKILL);
    // Reap the child, but never wait unboundedly: a child stuck in an uninterruptible sleep
    // would otherwise hang the agent. Such a child is left behind as a zombie.
    int status = 0;
    for (int tries = 0; tries < 200; tries++) {
        pid_t reaped = waitpid(child, &status, WNOHANG);
        if (reaped == child || (reaped < 0 && errno != EINTR)) break;
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (received == sizeof report) {
        result->failed_step = report.step;
        result->error_number = report.error_number;
        result->detail = report.detail;
        result->usable = report.step == BERTH_KVM_STEP_NONE;
    } else if (timed_out) {
        result->failed_step = BERTH_KVM_STEP_TIMEOUT;
    } else {
        result->failed_step = BERTH_KVM_STEP_CHILD_DIED;
        result->detail = status;
    }
}
