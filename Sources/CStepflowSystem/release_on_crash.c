#include "stepflow_system.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
#define CRASH_SIGNAL_COUNT (sizeof(crash_signals) / sizeof(crash_signals[0]))

static struct sigaction previous[CRASH_SIGNAL_COUNT];
static volatile sig_atomic_t extra_descriptor = -1;
static int descriptor_limit = 1024;

// Only async-signal-safe calls below (getsockopt, close, sigaction, raise: POSIX.1-2008, 2.4.3).
static void release_and_forward(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    for (int fd = 0; fd < descriptor_limit; fd++) {
        int listening = 0;
        socklen_t length = sizeof(listening);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening) {
            close(fd);
        }
    }
    int extra = extra_descriptor;
    if (extra >= 0) {
        extra_descriptor = -1;
        close(extra);
    }
    for (unsigned index = 0; index < CRASH_SIGNAL_COUNT; index++) {
        if (crash_signals[index] == signal_number) {
            sigaction(signal_number, &previous[index], NULL);
            break;
        }
    }
    // A fault re-executes the faulting instruction when this returns and reaches the previous handler with its
    // original context. A signal that was sent (abort(), kill) would not come again: raise it; it is delivered
    // as soon as this handler returns.
    if (info == NULL || info->si_code <= 0 || signal_number == SIGABRT) {
        raise(signal_number);
    }
}

int stepflow_release_on_crash(int extra_fd) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        rlim_t cap = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 1048576 ? 1048576 : limit.rlim_cur;
        descriptor_limit = (int)cap;
    }
    extra_descriptor = extra_fd;
    for (unsigned index = 0; index < CRASH_SIGNAL_COUNT; index++) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_sigaction = release_and_forward;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (sigaction(crash_signals[index], &action, &previous[index]) != 0) {
            return -1;
        }
    }
    return 0;
}
