// The supervised spawn behind the `process` backend. A workload must outlive the agent (an
// agent restart must not stop what it runs), so it cannot be the agent's child: the agent could
// not reap it after a restart, and its exit status would be lost. A keeper process, detached
// like the workload, waits for it, bounds its output and writes down how it ended.
#define _GNU_SOURCE
#include "CBerthHost.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>  // rename
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct keeper_report {
    int failed_step;
    int error_number;
    pid_t pid;
    pid_t keeper_pid;
};

// Everything below runs between fork and exec/_exit: raw system calls only (see the header).

static void write_all(int fd, const char *bytes, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        bytes += n;
        length -= (size_t)n;
    }
}

static void write_line(int fd, const char *label, int64_t value) {
    char digits[24];
    int count = 0;
    int negative = value < 0;
    uint64_t magnitude = negative ? (uint64_t)(-(value + 1)) + 1 : (uint64_t)value;
    do {
        digits[count++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    char line[64];
    size_t length = 0;
    for (const char *c = label; *c && length < 32; c++) line[length++] = *c;
    line[length++] = ' ';
    if (negative) line[length++] = '-';
    while (count > 0) line[length++] = digits[--count];
    line[length++] = '\n';
    write_all(fd, line, length);
}

// The keeper must not hold the agent's sockets and files open for the workload's lifetime:
// every descriptor but `keep` is closed.
static void close_all_but(int keep[], int count) {
    for (int i = 1; i < count; i++) {
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int swap = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = swap;
        }
    }
    unsigned int low = 3;
    for (int i = 0; i <= count; i++) {
        unsigned int high = i < count ? (unsigned int)keep[i] : ~0U;
        if (high < low) continue;
        if (high > low) {
            unsigned int last = i < count ? high - 1 : ~0U;
            if (syscall(SYS_close_range, low, last, 0) < 0) {
                // Kernels before 5.9: close one by one, up to a generous bound.
                unsigned int bound = last < 65536 ? last : 65535;
                for (unsigned int fd = low; fd <= bound; fd++) close((int)fd);
            }
        }
        low = high + 1;
        if (i < count && high == ~0U) break;
    }
}

static void reset_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    // The agent's runtime ignores SIGPIPE, and ignored signals stay ignored across exec.
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        sigaction(sig, &action, NULL);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
}

static void report_and_exit(int fd, int step, int error_number, pid_t pid) {
    struct keeper_report report = {step, error_number, pid, getpid()};
    write_all(fd, (const char *)&report, sizeof report);
    _exit(step == 0 ? 0 : 1);
}

static void keep(const char *path, char *const argv[], char *const envp[], const char *cwd, int stdout_fd,
                 int stderr_fd, int64_t limit, const char *status_path, const char *status_temp_path, int report_fd) {
    int keep_fds[3] = {stdout_fd, stderr_fd, report_fd};
    close_all_but(keep_fds, 3);
    int out[2], err[2], exec_error[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(exec_error, O_CLOEXEC) < 0)
        report_and_exit(report_fd, 2, errno, -1);
    pid_t child = fork();
    if (child < 0) report_and_exit(report_fd, 1, errno, -1);
    if (child == 0) {
        // Its own process group, so a terminate signals the workload and its children, not the keeper.
        setpgid(0, 0);
        reset_signals();
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (cwd == NULL || chdir(cwd) == 0) execve(path, argv, envp);
        int error_number = errno;
        write_all(exec_error[1], (const char *)&error_number, sizeof error_number);
        _exit(127);
    }
    // Also set here, so a terminate that comes before the child ran setpgid still finds the group.
    setpgid(child, child);
    close(out[1]);
    close(err[1]);
    close(exec_error[1]);
    int exec_errno = 0;
    ssize_t got;
    do {
        got = read(exec_error[0], &exec_errno, sizeof exec_errno);
    } while (got < 0 && errno == EINTR);
    close(exec_error[0]);
    if (got == (ssize_t)sizeof exec_errno) {
        int ignored;
        while (waitpid(child, &ignored, 0) < 0 && errno == EINTR) {
        }
        report_and_exit(report_fd, 3, exec_errno, child);
    }
    struct keeper_report started = {0, 0, child, getpid()};
    write_all(report_fd, (const char *)&started, sizeof started);
    close(report_fd);

    int sources[2] = {out[0], err[0]};
    int sinks[2] = {stdout_fd, stderr_fd};
    int64_t written[2] = {0, 0};
    int64_t dropped[2] = {0, 0};
    char buffer[16384];
    int status = 0;
    int exited = 0;
    // After the workload exits, whatever is already in the pipes is still copied, but a
    // descendant that keeps them open cannot hold the keeper forever.
    int rounds_after_exit = 0;
    for (;;) {
        if (!exited) {
            pid_t reaped = waitpid(child, &status, WNOHANG);
            if (reaped == child) exited = 1;
        }
        struct pollfd polled[2];
        int watching = 0;
        int which[2];
        for (int i = 0; i < 2; i++) {
            if (sources[i] < 0) continue;
            polled[watching].fd = sources[i];
            polled[watching].events = POLLIN;
            polled[watching].revents = 0;
            which[watching++] = i;
        }
        if (watching == 0) {
            while (!exited) {
                pid_t reaped = waitpid(child, &status, 0);
                if (reaped == child) exited = 1;
                else if (reaped < 0 && errno != EINTR) break;
            }
            break;
        }
        if (exited && ++rounds_after_exit > 256) break;
        int ready = poll(polled, (nfds_t)watching, exited ? 0 : 200);
        if (ready < 0 && errno != EINTR) break;
        if (ready == 0 && exited) break;
        for (int k = 0; k < watching && ready > 0; k++) {
            if (polled[k].revents == 0) continue;
            int i = which[k];
            ssize_t n = read(sources[i], buffer, sizeof buffer);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                close(sources[i]);
                sources[i] = -1;
                continue;
            }
            int64_t room = limit - written[i];
            int64_t kept = room <= 0 ? 0 : (n < room ? n : room);
            if (kept > 0) write_all(sinks[i], buffer, (size_t)kept);
            written[i] += kept;
            dropped[i] += n - kept;
        }
    }
    int file = open(status_temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file >= 0) {
        if (!exited) write_line(file, "unknown", 0);
        else if (WIFEXITED(status)) write_line(file, "exit", WEXITSTATUS(status));
        else if (WIFSIGNALED(status)) write_line(file, "signal", WTERMSIG(status));
        write_line(file, "stdout_dropped", dropped[0]);
        write_line(file, "stderr_dropped", dropped[1]);
        fsync(sinks[0]);
        fsync(sinks[1]);
        fsync(file);
        close(file);
        rename(status_temp_path, status_path);
    }
    _exit(0);
}

void berth_spawn_supervised(const char *path, char *const argv[], char *const envp[], const char *cwd,
                            int stdout_fd, int stderr_fd, int64_t output_limit, const char *status_path,
                            const char *status_temp_path, struct berth_spawn_result *result) {
    result->pid = -1;
    result->keeper_pid = -1;
    result->failed_step = 0;
    result->error_number = 0;
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        result->failed_step = 1;
        result->error_number = errno;
        return;
    }
    pid_t first = fork();
    if (first < 0) {
        result->failed_step = 1;
        result->error_number = errno;
        close(report[0]);
        close(report[1]);
        return;
    }
    if (first == 0) {
        close(report[0]);
        setsid();
        pid_t keeper = fork();
        if (keeper < 0) report_and_exit(report[1], 1, errno, -1);
        if (keeper == 0)
            keep(path, argv, envp, cwd, stdout_fd, stderr_fd, output_limit, status_path, status_temp_path, report[1]);
        _exit(0);
    }
    close(report[1]);
    int ignored;
    while (waitpid(first, &ignored, 0) < 0 && errno == EINTR) {
    }
    struct keeper_report answer;
    size_t received = 0;
    while (received < sizeof answer) {
        ssize_t n = read(report[0], (char *)&answer + received, sizeof answer - received);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        received += (size_t)n;
    }
    close(report[0]);
    if (received < sizeof answer) {
        result->failed_step = 4;
        return;
    }
    result->pid = answer.pid;
    result->keeper_pid = answer.keeper_pid;
    result->failed_step = answer.failed_step;
    result->error_number = answer.error_number;
}
