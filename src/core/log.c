/* JSON-lines logging (see log.h). */
#include "core/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/jw.h"

static enum log_level min_level = LOG_INFO;
static int access_fd = STDERR_FILENO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

bool log_access_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return false;
	access_fd = fd;
	return true;
}

void log_access_close(void)
{
	if (access_fd != STDERR_FILENO)
		close(access_fd);
	access_fd = STDERR_FILENO;
}

/* Starts a line with the time and level. */
static void line_begin(struct jw *w, const char *level)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	char ts[UTC_TEXT_BYTES];
	utc_format_ms((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000, ts);
	jw_obj_begin(w);
	jw_kstr(w, "time", ts);
	jw_kstr(w, "level", level);
}

static void line_end(struct jw *w, struct buf *b, int fd)
{
	jw_obj_end(w);
	buf_putc(b, '\n');
	ssize_t n = write(fd, b->data, b->len);
	(void)n;
	buf_free(b);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (level < min_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	line_begin(&w, level_names[level]);
	jw_kstr(&w, "msg", msg);
	line_end(&w, &b, STDERR_FILENO);
}

void log_access(const struct access_entry *e)
{
	if (LOG_INFO < min_level)
		return;
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	line_begin(&w, "info");
	jw_kstr(&w, "msg", "request");
	jw_kstr(&w, "request_id", e->request_id);
	jw_kstr(&w, "method", e->method);
	jw_kstr(&w, "route", e->route);
	jw_kint(&w, "status", e->status);
	jw_key(&w, "duration_ms");
	jw_fixed(&w, e->duration_us, 3);
	if (e->merchant_id)
		jw_kint(&w, "merchant_id", e->merchant_id);
	else
		jw_knull(&w, "merchant_id");
	jw_kint(&w, "bytes", (int64_t)e->bytes);
	line_end(&w, &b, access_fd);
}
