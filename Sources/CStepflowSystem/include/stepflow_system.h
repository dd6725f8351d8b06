// Small POSIX helpers of the host that must be written in C: code that runs inside a signal handler, and glibc
// calls that Swift's Glibc module does not export.
// Not part of the plugin ABI (that is stepflow_plugin.h alone).
#ifndef STEPFLOW_SYSTEM_H
#define STEPFLOW_SYSTEM_H

/// Installs handlers for the signals a crash raises (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS).
/// Before anything else runs, the handler closes every listening socket of the process and `extra_fd` (the
/// database lock; -1 for none), so a supervisor can restart the host at once; then it hands the signal to the
/// handler installed before it (the Swift runtime's backtracer, which can keep a crashed process alive for
/// seconds while it writes the backtrace) or to the default action.
///
/// Call it after the runtime has installed its own handlers; a second call only replaces `extra_fd` (pass -1
/// once that descriptor is closed). Returns 0, or -1 with errno set.
int stepflow_release_on_crash(int extra_fd);

/// Returns the free memory at the top and in the middle of glibc's malloc arenas to the kernel (`malloc_trim(0)`),
/// so that a burst does not leave the process holding its peak. Returns 1 when memory was released, else 0 (always
/// 0 on a C library other than glibc).
int stepflow_release_free_heap(void);

#endif
