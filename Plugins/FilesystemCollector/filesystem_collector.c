#include "stepflow_plugin.h"
