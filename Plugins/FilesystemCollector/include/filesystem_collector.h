/* The filesystem collector plugin: filesystem usage of configured paths via statvfs(3). */
#ifndef STEPFLOW_FILESYSTEM_COLLECTOR_H
#define STEPFLOW_FILESYSTEM_COLLECTOR_H

#include "stepflow_plugin.h"

/** The plugin's entry symbol (STEPFLOW_PLUGIN_ENTRY). */
const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api);

#endif
