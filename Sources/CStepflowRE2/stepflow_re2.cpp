#include "stepflow_re2.h"

#include <re2/re2.h>

#include <cstdio>
#include <cstring>
#include <new>

struct stepflow_re2 {
    RE2 re;
    stepflow_re2(const re2::StringPiece &pattern, const RE2::Options &options) : re(pattern, options) {}
};

extern "C" stepflow_re2 *stepflow_re2_compile(const char *pattern, size_t length, long long max_memory, char *error,
                                              size_t error_capacity) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(max_memory);
    options.set_dot_nl(true);  // as Prometheus compiles its regexes: "." matches a newline too
    auto *compiled = new (std::nothrow) stepflow_re2(re2::StringPiece(pattern, length), options);
    if (compiled == nullptr) {
        if (error_capacity > 0) std::snprintf(error, error_capacity, "out of memory");
        return nullptr;
    }
    if (!compiled->re.ok()) {
        if (error_capacity > 0) {
            std::strncpy(error, compiled->re.error().c_str(), error_capacity - 1);
            error[error_capacity - 1] = '\0';
        }
        delete compiled;
        return nullptr;
    }
    return compiled;
}

extern "C" int stepflow_re2_full_match(const stepflow_re2 *re, const char *text, size_t length) {
    return RE2::FullMatch(re2::StringPiece(text, length), re->re) ? 1 : 0;
}

extern "C" void stepflow_re2_free(stepflow_re2 *re) { delete re; }
