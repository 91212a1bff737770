/* Logging (see log.h): the line formatters, and where lines go. The destinations and their
 * styles are set before any thread starts and only read afterwards; the access log's file
 * descriptor number never changes while the server runs (a reopen dup2()s over it), so writers
 * need no lock. */
#define _GNU_SOURCE /* dup3 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/jw.h"

#define DAY_MS (86400 * 1000LL)
/* Text access lines pad the route to this many columns, so most statuses line up. */
#define TEXT_ROUTE_WIDTH 36

#define ANSI_RESET "\033[0m"

static enum log_level min_level = LOG_INFO;
static enum log_format line_format = LOG_FORMAT_AUTO;
static struct log_style stderr_style;
static struct log_style access_style;
static int access_fd = STDERR_FILENO;
static char *access_path; /* NULL: access lines go to stderr */

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* Padded to one width, so text messages start in one column. */
static const char *const level_labels[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
static const char *const level_colors[] = {"\033[2m", "\033[32m", "\033[33m", "\033[1;31m"};
/* syslog(3) priorities: LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR. */
static const int level_priorities[] = {7, 6, 4, 3};

int log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

int log_format_parse(const char *name)
{
	static const char *const names[] = {"auto", "json", "text"};
	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* ---- formatting (pure) ---- */

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 when s does not begin one or
 * encodes a C1 control character (U+0080..U+009F), which some terminals obey. */
static size_t utf8_printable_len(const unsigned char *s)
{
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	size_t n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* C1 control */
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, or a surrogate */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0; /* overlong, or past U+10FFFF */
	return n;
}

/* Appends s for a terminal: one line, no control sequences. Control characters, DEL and bytes
 * that are not valid UTF-8 are written as \n, \t or \xNN. Returns the columns written
 * (a character each). */
static size_t text_put(struct buf *b, const char *s)
{
	size_t columns = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; columns++) {
		if (*p >= 0x20 && *p < 0x7f) {
			buf_putc(b, (char)*p++);
			continue;
		}
		size_t n = *p >= 0x80 ? utf8_printable_len(p) : 0;
		if (n) {
			buf_append(b, p, n);
			p += n;
		} else if (*p == '\n' || *p == '\t') {
			buf_puts(b, *p == '\n' ? "\\n" : "\\t");
			p++;
			columns++;
		} else {
			buf_printf(b, "\\x%02x", *p++);
			columns += 3;
		}
	}
	return columns;
}

static void line_prefix(struct buf *b, struct log_style style, enum log_level level)
{
	if (style.priority)
		buf_printf(b, "<%d>", level_priorities[level]);
}

/* Text: the local time of day and the level, "14:02:11.482 INFO  ". */
static void text_begin(struct buf *b, struct log_style style, int64_t time_ms, long utc_offset_s,
		       enum log_level level)
{
	int64_t day_ms = ((time_ms + (int64_t)utc_offset_s * 1000) % DAY_MS + DAY_MS) % DAY_MS;
	buf_printf(b, "%02d:%02d:%02d.%03d ", (int)(day_ms / 3600000), (int)(day_ms / 60000 % 60),
		   (int)(day_ms / 1000 % 60), (int)(day_ms % 1000));
	if (style.color)
		buf_printf(b, "%s%s" ANSI_RESET " ", level_colors[level], level_labels[level]);
	else
		buf_printf(b, "%s ", level_labels[level]);
}

/* JSON: {"time":"2026-12-05T11:23:50.123Z","level":"info", with the object left open. */
static void json_begin(struct jw *w, int64_t time_ms, enum log_level level)
{
	char ts[UTC_TEXT_BYTES];
	utc_format_ms(time_ms, ts);
	jw_obj_begin(w);
	jw_kstr(w, "time", ts);
	jw_kstr(w, "level", level_names[level]);
}

void log_format_msg(struct buf *b, struct log_style style, int64_t time_ms, long utc_offset_s,
		    enum log_level level, const char *msg)
{
	line_prefix(b, style, level);
	if (style.text) {
		text_begin(b, style, time_ms, utc_offset_s, level);
		text_put(b, msg);
	} else {
		struct jw w;
		jw_init(&w, b);
		json_begin(&w, time_ms, level);
		jw_kstr(&w, "msg", msg);
		jw_obj_end(&w);
	}
	buf_putc(b, '\n');
}

void log_format_access(struct buf *b, struct log_style style, int64_t time_ms, long utc_offset_s,
		       const struct access_entry *e)
{
	line_prefix(b, style, LOG_INFO);
	if (style.text) {
		/* 14:02:11.482 INFO  POST   /ext/api/v1/fiscal/orders/          200    3.1 ms */
		text_begin(b, style, time_ms, utc_offset_s, LOG_INFO);
		size_t width = text_put(b, e->method);
		buf_printf(b, "%*s", width < 6 ? (int)(7 - width) : 1, "");
		width = text_put(b, e->route);
		buf_printf(b, "%*s",
			   width < TEXT_ROUTE_WIDTH ? (int)(TEXT_ROUTE_WIDTH + 1 - width) : 1, "");
		const char *color = !style.color       ? NULL
				    : e->status >= 500 ? "\033[1;31m"
				    : e->status >= 400 ? "\033[33m"
						       : NULL;
		buf_printf(b, "%s%3d%s %4lld.%d ms", color ? color : "", e->status,
			   color ? ANSI_RESET : "", (long long)(e->duration_us / 1000),
			   (int)(e->duration_us % 1000 / 100));
	} else {
		struct jw w;
		jw_init(&w, b);
		json_begin(&w, time_ms, LOG_INFO);
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
		jw_obj_end(&w);
	}
	buf_putc(b, '\n');
}

/* ---- destinations ---- */

/* How lines written to fd look: text for a terminal (auto) or when asked; colours only on a
 * terminal that can show them. */
static struct log_style style_for(int fd)
{
	bool tty = isatty(fd);
	const char *no_color = getenv("NO_COLOR"); /* no-color.org: set and not empty */
	const char *term = getenv("TERM");
	struct log_style style = {.text = line_format == LOG_FORMAT_TEXT ||
					  (line_format == LOG_FORMAT_AUTO && tty)};
	style.color =
	    style.text && tty && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
	return style;
}

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects stdout and stderr
 * to (systemd.exec(5)); stderr is the journal when it is that very file, not when the variable
 * was merely inherited by a process whose stderr went elsewhere. */
static bool stderr_is_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	if (!stream || !*stream)
		return false;
	char *end;
	errno = 0;
	unsigned long long dev = strtoull(stream, &end, 10);
	if (errno || *end != ':')
		return false;
	const char *ino_text = end + 1;
	unsigned long long ino = strtoull(ino_text, &end, 10);
	if (errno || end == ino_text || *end)
		return false;
	struct stat st;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_setup(enum log_level level, enum log_format format)
{
	min_level = level;
	line_format = format;
	stderr_style = style_for(STDERR_FILENO);
	stderr_style.priority = stderr_is_journal();
	if (!access_path)
		access_style = stderr_style;
}

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

bool log_access_open(const char *path)
{
	int fd = open_append(path);
	if (fd < 0)
		return false;
	access_fd = fd;
	free(access_path);
	access_path = xstrdup(path);
	access_style = style_for(fd);
	return true;
}

bool log_access_reopen(bool *reopened)
{
	*reopened = false;
	if (!access_path)
		return true;
	int fd = open_append(access_path);
	if (fd < 0)
		return false;
	/* One atomic step: a write running on the old file finishes there (it holds its own
	 * reference), every later one goes to the new file. dup3 keeps close-on-exec. */
	int rc = dup3(fd, access_fd, O_CLOEXEC);
	int saved = errno;
	close(fd);
	if (rc < 0) {
		errno = saved;
		return false;
	}
	*reopened = true;
	return true;
}

const char *log_access_path(void)
{
	return access_path;
}

void log_access_close(void)
{
	if (access_fd != STDERR_FILENO)
		close(access_fd);
	access_fd = STDERR_FILENO;
	access_style = stderr_style;
	free(access_path);
	access_path = NULL;
}

static int64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Seconds east of UTC at time_ms, for text lines (local time of day). */
static long local_offset_s(int64_t time_ms)
{
	time_t sec = (time_t)(time_ms / 1000);
	struct tm tm;
	return localtime_r(&sec, &tm) ? tm.tm_gmtoff : 0;
}

/* Writes the line in one write(2) (a retry only finishes a short write) and frees it. */
static void line_write(int fd, struct buf *b)
{
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
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
	int64_t now = wall_ms();
	struct buf b;
	buf_init(&b);
	log_format_msg(&b, stderr_style, now, stderr_style.text ? local_offset_s(now) : 0, level,
		       msg);
	line_write(STDERR_FILENO, &b);
}

void log_access(const struct access_entry *e)
{
	if (LOG_INFO < min_level)
		return;
	int64_t now = wall_ms();
	struct buf b;
	buf_init(&b);
	log_format_access(&b, access_style, now, access_style.text ? local_offset_s(now) : 0, e);
	line_write(access_fd, &b);
}
