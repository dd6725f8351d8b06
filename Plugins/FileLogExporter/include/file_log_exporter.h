/*
 * The file log exporter plugin: appends each exported log record as one NDJSON line to a file.
 *
 * Settings:
 *   path  the file to append to (required); created with mode 0644 when missing.
 *
 * Each line is one JSON object:
 *   {"id":"…","level":"info","message":"…","timestamp_ms":1700000000000,"source":"…","component":"…",
 *    "module":"…","function":"…","line":42,"trace_id":"…","span_id":"…","user_id":"…","request_id":"…",
 *    "fields":{"name":"value",…}}
 * "line" is null when unknown; trace_id, span_id, user_id and request_id are null when empty. A batch is written
 * with one write(2) to a file opened with O_APPEND, so lines of concurrent writers do not interleave.
 *
 * Builds on its own:  cc -shared -fPIC -I Sources/CStepflowPlugin/include -o libfilelog.so \
 *                        Plugins/FileLogExporter/file_log_exporter.c
 */
#ifndef STEPFLOW_FILE_LOG_EXPORTER_H
#define STEPFLOW_FILE_LOG_EXPORTER_H

#include "stepflow_plugin.h"

/** The plugin's entry symbol (STEPFLOW_PLUGIN_ENTRY). */
const stepflow_plugin_descriptor *stepflow_plugin_register(const stepflow_host_api *host_api);

#endif
