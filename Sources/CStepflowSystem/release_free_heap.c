#include "stepflow_system.h"

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
