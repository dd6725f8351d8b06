#include "stepflow_system.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
#define CRASH_SIGNAL_COUNT (sizeof(crash_signals) / sizeof(crash_signals[0]))

static struct sigaction previous[CRASH_SIGNAL_COUNT];
static volatile sig_atomic_t extra_descriptor = -1;
static volatile sig_atomic_t installed = 0;
static int descriptor_limit = 1024;

/* The record getdents64 fills (linux_dirent64, which glibc does not declare). */
struct stepflow_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Only async-signal-safe calls below: getsockopt, close, open, sigaction, raise (POSIX.1-2008, 2.4.3), and the
 * getdents64 system call, which takes no lock and allocates nothing. */

static void close_if_listening(int fd) {
    int listening = 0;
    socklen_t length = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && listening) {
        close(fd);
    }
}

/* Closes every listening socket: the descriptors listed in /proc/self/fd, or, without /proc, every number up
 * to the descriptor limit (capped, so a limit of a million does not delay the crash by a million calls). */
static void close_listening_sockets(void) {
    int directory = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory >= 0) {
        char buffer[4096] __attribute__((aligned(8)));
        for (;;) {
            long count = syscall(SYS_getdents64, directory, buffer, sizeof(buffer));
            if (count <= 0) break;
            for (long offset = 0; offset < count;) {
                struct stepflow_dirent64 *entry = (struct stepflow_dirent64 *)(buffer + offset);
                offset += entry->d_reclen;
                int fd = 0;
                const char *digit = entry->d_name;
                if (*digit < '0' || *digit > '9') continue; /* "." and ".." */
                for (; *digit >= '0' && *digit <= '9'; digit++) fd = fd * 10 + (*digit - '0');
                if (fd != directory) close_if_listening(fd);
            }
        }
        close(directory);
        return;
    }
    int limit = descriptor_limit < 65536 ? descriptor_limit : 65536;
    for (int fd = 0; fd < limit; fd++) close_if_listening(fd);
}

static void release_and_forward(int signal_number, siginfo_t *info, void *context) {
    close_listening_sockets();
    int extra = extra_descriptor;
    if (extra >= 0) {
        extra_descriptor = -1;
        close(extra);
    }
    for (unsigned index = 0; index < CRASH_SIGNAL_COUNT; index++) {
        if (crash_signals[index] != signal_number) continue;
        struct sigaction before = previous[index];
        sigaction(signal_number, &before, NULL);
        if ((before.sa_flags & SA_SIGINFO) && before.sa_sigaction != NULL) {
            /* The handler installed before this one (the Swift backtracer): run it now, with this context, so
             * it sees the crash even when the faulting instruction would not run again (int3, seccomp). */
            before.sa_sigaction(signal_number, info, context);
            return;
        }
        if (!(before.sa_flags & SA_SIGINFO) && before.sa_handler != SIG_DFL && before.sa_handler != SIG_IGN) {
            before.sa_handler(signal_number);
            return;
        }
        break;
    }
    /* The default action. A fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE from the hardware) comes again when this
     * returns; a signal that was sent, abort()'s SIGABRT, a trap or a seccomp SIGSYS would not: raise it, and
     * it is delivered as soon as this handler returns. */
    int refaults = info != NULL && info->si_code > 0 && signal_number != SIGABRT && signal_number != SIGTRAP
        && signal_number != SIGSYS;
    if (!refaults) raise(signal_number);
}

int stepflow_release_on_crash(int extra_fd) {
    extra_descriptor = extra_fd;
    if (installed) return 0; /* a second call only changes the descriptor: never chain this handler to itself */
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        descriptor_limit = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 1048576 ? 1048576 : (int)limit.rlim_cur;
    }
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
    installed = 1;
    return 0;
}
