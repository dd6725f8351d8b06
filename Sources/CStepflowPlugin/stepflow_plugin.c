/* SwiftPM needs one source file in a C target; this one also proves the header compiles on its own. */
#include "stepflow_plugin.h"

_Static_assert(sizeof(stepflow_str) == 2 * sizeof(void *), "stepflow_str is two words");
