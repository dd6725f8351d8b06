/*
 * The filesystem collector plugin: usage of configured paths via statvfs(3), with node_exporter's names.
 *
 * Settings:
 *   paths  comma-separated paths (or a JSON array of strings, how a YAML list arrives); default "/".
 *
 * Metrics (gauges, labelled mountpoint=<path as configured>):
 *   node_filesystem_size_bytes, node_filesystem_free_bytes, node_filesystem_avail_bytes,
 *   node_filesystem_files, node_filesystem_files_free
 *
 * A path that fails statvfs is logged through the host and skipped; when every path fails, the collection fails.
 * Builds on its own:  cc -shared -fPIC -I Sources/CStepflowPlugin/include -o libfs.so \
 *                        Plugins/FilesystemCollector/filesystem_collector.c
 */
#ifndef STEPFLOW_FILESYSTEM_COLLECTOR_H
#define STEPFLOW_FILESYSTEM_COLLECTOR_H

#include "stepflow_plugin.h"

/** The plugin's entry symbol (STEPFLOW_PLUGIN_ENTRY). */
const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api);

#endif
