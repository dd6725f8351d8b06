// A C interface to RE2 (linear-time regular expressions, the engine and syntax of Prometheus' selectors), for
// Swift. Not part of the plugin ABI.
#ifndef STEPFLOW_RE2_H
#define STEPFLOW_RE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled pattern; matching with it is thread-safe.
typedef struct stepflow_re2 stepflow_re2;

/// Compiles `pattern` (UTF-8, `length` bytes) to match whole strings. Returns NULL when it does not compile, with
/// RE2's reason in `error` (NUL-terminated, cut to `error_capacity`). A pattern whose program would need more
/// than `max_memory` bytes is refused too, which bounds the work of one match.
stepflow_re2 *stepflow_re2_compile(const char *pattern, size_t length, long long max_memory, char *error,
                                   size_t error_capacity);

/// Whether the whole of `text` (UTF-8, `length` bytes) matches: time linear in `length`.
int stepflow_re2_full_match(const stepflow_re2 *re, const char *text, size_t length);

/// Frees a compiled pattern.
void stepflow_re2_free(stepflow_re2 *re);

#ifdef __cplusplus
}
#endif

#endif
