/* Levelled logging: one JSON object per line ({"time","level","msg"}), written with one
 * write(2) so lines never interleave. The access log has its own line shape (log_access).
 * Never pass secrets (Authorization, passwords, keys, tokens, query strings) to these
 * functions: nothing here can tell them apart from other text. */
#ifndef KOPILKA_CORE_LOG_H
#define KOPILKA_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *name);
/* Sends access lines to path (appended; created 0640) instead of stderr. False on error. */
bool log_access_open(const char *path);
void log_access_close(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One access log line: the request id, method, route template (never the raw path), status,
 * duration, merchant id (0: none) and response bytes. */
struct access_entry {
	const char *request_id, *method, *route;
	int status;
	int64_t duration_us;
	int64_t merchant_id;
	size_t bytes;
};
void log_access(const struct access_entry *e);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
