/* Levelled one-line logging to stderr. Never pass secrets (Authorization, passwords, keys,
 * tokens) to these functions: nothing here can tell them apart from other text. */
#ifndef KOPILKA_CORE_LOG_H
#define KOPILKA_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *name);

/* Writes "<time> <LEVEL> <message>" as one line (one write(2), so lines never interleave). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
