/* Levelled logging: one line per event, written with one write(2) so lines never interleave,
 * as a JSON object ({"time","level","msg"}) for machines or a short text line for a person at a
 * terminal (--log-format). The access log has its own line shape (log_access) and may go to a
 * file of its own that SIGHUP reopens (log_access_reopen). Never pass secrets (Authorization,
 * passwords, keys, tokens, query strings) to these functions: nothing here can tell them apart
 * from other text. */
#ifndef KOPILKA_CORE_LOG_H
#define KOPILKA_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *name);
/* Parses "auto", "json", "text"; returns -1 for anything else. */
int log_format_parse(const char *name);

/* Sets the least severe level written and the format, and decides how stderr lines look:
 * text when the format is text, or auto and stderr is a terminal; ANSI colours only on a
 * terminal (and never with NO_COLOR set); a "<N>" syslog priority before each line when stderr
 * is the systemd journal (JOURNAL_STREAM names it), which journald strips and stores as the
 * line's priority. Call once, before any thread logs. */
void log_setup(enum log_level level, enum log_format format);

/* Sends access lines to path (appended; created 0640) instead of stderr, in the format of
 * log_setup (auto: JSON unless the file is a terminal). Call before any thread logs. False,
 * with errno set, when the file cannot be opened. */
bool log_access_open(const char *path);
/* Opens the access log's path again and puts the new file in place of the old one (after a
 * rotation renamed or removed it). Safe while other threads log: the swap is one dup2(2), so
 * a line goes whole to the old file or whole to the new one. On failure keeps writing to the
 * old file and returns false with errno set. True and does nothing without --access-log;
 * *reopened says whether there was a file to reopen. */
bool log_access_reopen(bool *reopened);
/* The access log's path, or NULL when access lines go to stderr. */
const char *log_access_path(void);
/* Closes the access log file (once no thread logs any more); access lines go to stderr. */
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

/* The line formatters: pure functions (no clock, no I/O), so tests can pin the formats.
 * Each appends one whole line, '\n' included, to b. time_ms is the UTC time of the event;
 * text lines show it as local time of day, utc_offset_s seconds east of UTC. */
struct log_style {
	bool text;     /* a short line for a person, else a JSON object */
	bool color;    /* ANSI colours on the level and status (text on a terminal only) */
	bool priority; /* "<N>" syslog priority prefix (the destination is the journal) */
};
void log_format_msg(struct buf *b, struct log_style style, int64_t time_ms, long utc_offset_s,
		    enum log_level level, const char *msg);
void log_format_access(struct buf *b, struct log_style style, int64_t time_ms, long utc_offset_s,
		       const struct access_entry *e);

#endif
