#include "stepflow_system.h"

// <stdlib.h> first: it brings in <features.h>, which is what defines __GLIBC__ (without a libc header before the
// test, the test is always false and the trim silently never happens).
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int stepflow_release_free_heap(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
