/* libkopilka errors: struct kopilka_error from the library's own failures and from the server's
 * error answers ({"error","message","path","status","timestamp","code"}), and the parsing of
 * answers; everything read from the network is untrusted here (fuzz/fuzz_lib_answer.c). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		/* Never cut a UTF-8 sequence in two: back up to its first byte. */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

enum kopilka_status kk_ok(struct kopilka_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
	return KOPILKA_OK;
}

enum kopilka_status kk_fail(struct kopilka_error *err, enum kopilka_status status, int retryable,
			    const char *fmt, ...)
{
	if (!err)
		return status;
	int attempts = err->attempts;
	int http_status = err->http_status;
	memset(err, 0, sizeof(*err));
	err->status = status;
	err->retryable = retryable;
	err->attempts = attempts;
	/* A failure after an answer (a protocol error) keeps the answer's status. */
	if (status == KOPILKA_ERR_PROTOCOL)
		err->http_status = http_status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

bool kk_status_retryable(long http_status)
{
	return http_status == 408 || http_status == 429 || http_status >= 500;
}

long kk_parse_retry_after(const char *value)
{
	if (!value)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!isdigit((unsigned char)*value))
		return 0;
	long seconds = 0;
	for (; isdigit((unsigned char)*value); value++) {
		seconds = seconds * 10 + (*value - '0');
		if (seconds > 86400)
			return 86400L * 1000;
	}
	while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
		value++;
	if (*value != '\0')
		return 0;
	return seconds * 1000;
}

static bool only_space(const char *body, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)body[i]))
			return false;
	return true;
}

enum kopilka_status kk_parse_answer(const char *body, size_t len, json_t **answer,
				    struct kopilka_error *err)
{
	*answer = NULL;
	if (len == 0 || only_space(body, len))
		return kk_ok(err);
	if (len > KK_MAX_ANSWER)
		return kk_fail(err, KOPILKA_ERR_PROTOCOL, 0, "the answer is over %u bytes",
			       KK_MAX_ANSWER);
	json_error_t jerr;
	/* JSON_ALLOW_NUL: a \u0000 in a string is the server's text, not a reason to fail. */
	json_t *parsed = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (!parsed) {
		if (strstr(jerr.text, "out of memory"))
			return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
		return kk_fail(err, KOPILKA_ERR_PROTOCOL, 0,
			       "the answer is not JSON (line %d, column %d: %s)", jerr.line,
			       jerr.column, jerr.text);
	}
	*answer = parsed;
	return kk_ok(err);
}

enum kopilka_status kk_error_from_answer(struct kopilka_error *err, long http_status,
					 const char *body, size_t len, const char *retry_after)
{
	if (!err)
		return KOPILKA_ERR_HTTP;
	int attempts = err->attempts;
	memset(err, 0, sizeof(*err));
	err->status = KOPILKA_ERR_HTTP;
	err->attempts = attempts;
	err->http_status = http_status < 0 || http_status > 999 ? 0 : (int)http_status;
	err->retryable = kk_status_retryable(http_status);
	err->retry_after_ms = kk_parse_retry_after(retry_after);

	json_t *root = NULL;
	if (len > 0 && len <= KK_MAX_ANSWER) {
		json_error_t jerr;
		root = json_loadb(body, len, 0, &jerr);
	}
	const char *message = NULL;
	if (json_is_object(root)) {
		json_t *m = json_object_get(root, "message");
		json_t *c = json_object_get(root, "code");
		json_t *e = json_object_get(root, "error");
		if (json_is_string(m) && json_string_length(m) > 0)
			message = json_string_value(m);
		else if (json_is_string(e) && json_string_length(e) > 0)
			message = json_string_value(e);
		if (json_is_string(c))
			copy_text(err->code, sizeof(err->code), json_string_value(c));
	}
	if (message)
		copy_text(err->message, sizeof(err->message), message);
	else
		snprintf(err->message, sizeof(err->message), "the server answered HTTP %d",
			 err->http_status);
	/* Strings with an embedded NUL stop at it: the message is C text. Control characters
	 * other than tab are replaced so that a message printed to a terminal stays one line. */
	for (char *p = err->message; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = ' ';
	json_decref(root);
	return KOPILKA_ERR_HTTP;
}

const char *kopilka_status_name(enum kopilka_status status)
{
	switch (status) {
	case KOPILKA_OK:
		return "ok";
	case KOPILKA_QUEUED:
		return "queued";
	case KOPILKA_ERR_INVALID:
		return "invalid";
	case KOPILKA_ERR_NOMEM:
		return "nomem";
	case KOPILKA_ERR_NETWORK:
		return "network";
	case KOPILKA_ERR_HTTP:
		return "http";
	case KOPILKA_ERR_PROTOCOL:
		return "protocol";
	case KOPILKA_ERR_OUTBOX:
		return "outbox";
	}
	return "unknown";
}
