/* libkopilka's internals shared by its modules: the handle, the transport's request, the error
 * and money helpers, the outbox. Not installed. */
#ifndef KOPILKA_INTERNAL_H
#define KOPILKA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "kopilka.h"

#define KK_HIDDEN __attribute__((visibility("hidden")))
#define KK_MUST_CHECK __attribute__((warn_unused_result))

/* The biggest answer the library reads (a list of 1000 clients is well under it). */
#define KK_MAX_ANSWER (16u << 20)
#define KK_IDEM_KEY_MAX 256

struct kk_outbox;

struct kopilka {
	char *base_url; /* without a trailing slash */
	char *login;
	char *password;
	char *user_agent;
	long connect_timeout_ms;
	long request_timeout_ms;
	int max_attempts;
	long backoff_initial_ms;
	long backoff_max_ms;
	long retry_budget_ms;
	int verify_tls;
	/* Serializes the outbox: its SQLite connection and the in-order sending. */
	pthread_mutex_t outbox_lock;
	struct kk_outbox *outbox; /* NULL without an outbox */
};

/* ---- errors.c ---- */

/* Clears err (when not NULL) and returns KOPILKA_OK. */
KK_HIDDEN enum kopilka_status kk_ok(struct kopilka_error *err);
/* Fills err with a library-side failure and returns status. */
KK_HIDDEN enum kopilka_status kk_fail(struct kopilka_error *err, enum kopilka_status status,
				      int retryable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fills err from a non-2xx answer: its status, the error body's "message" and "code" when the
 * body is the API's error shape (anything else: a message naming the status), the
 * retryable flag by status, and retry_after (the header's value or NULL). Returns
 * KOPILKA_ERR_HTTP, or KOPILKA_ERR_NOMEM. */
KK_HIDDEN enum kopilka_status kk_error_from_answer(struct kopilka_error *err, long http_status,
						   const char *body, size_t len,
						   const char *retry_after);
/* Whether an HTTP status is worth retrying with the same request: 408, 429, 5xx. */
KK_HIDDEN bool kk_status_retryable(long http_status);
/* Retry-After as ms: delta-seconds only (an HTTP date or garbage: 0), capped at one day. */
KK_HIDDEN long kk_parse_retry_after(const char *value);
/* Parses a 2xx answer: empty (or only whitespace) is *answer = NULL; anything not JSON is
 * KOPILKA_ERR_PROTOCOL. */
KK_HIDDEN KK_MUST_CHECK enum kopilka_status
kk_parse_answer(const char *body, size_t len, json_t **answer, struct kopilka_error *err);

/* ---- http.c ---- */

struct kk_request {
	const char *method;
	const char *path;     /* as kopilka_request's */
	const char *body;     /* JSON text or NULL */
	const char *idem_key; /* NULL: none sent */
};

/* One logical call with the handle's retry policy; answer as kopilka_request's. */
KK_HIDDEN KK_MUST_CHECK enum kopilka_status
kk_http_call(kopilka *h, const struct kk_request *req, json_t **answer, struct kopilka_error *err);
/* A fresh Idempotency-Key ("kpl-" and 32 hex of a random source) into key[KK_IDEM_KEY_MAX]. */
KK_HIDDEN KK_MUST_CHECK enum kopilka_status kk_new_idem_key(char *key, struct kopilka_error *err);
KK_HIDDEN KK_MUST_CHECK enum kopilka_status kk_http_global_init(struct kopilka_error *err);

/* ---- outbox.c ---- */

KK_HIDDEN KK_MUST_CHECK enum kopilka_status kk_outbox_open(const char *path, struct kk_outbox **out,
							   struct kopilka_error *err);
KK_HIDDEN void kk_outbox_close(struct kk_outbox *outbox);
/* Appends an order (durable when it returns OK) and sends the outbox in order up to it. */
KK_HIDDEN KK_MUST_CHECK enum kopilka_status
kk_outbox_post(kopilka *h, const char *body, const char *external_id, const char *receipt_type,
	       const char *idem_key, json_t **answer, struct kopilka_error *err);

/* ---- money.c ---- */

/* Whether text is a decimal the API takes as money or a quantity: an optional '-' (only when
 * allow_negative), digits, optionally '.' and 1..max_fraction digits; at most 15 digits in all. */
KK_HIDDEN bool kk_decimal_ok(const char *text, int max_fraction, bool allow_negative);

/* ---- calls.c: a growing text buffer for writing request bodies ---- */

struct kk_buf {
	char *data;
	size_t len, cap;
	bool oom;
};
KK_HIDDEN void kk_buf_append(struct kk_buf *b, const char *text, size_t len);
KK_HIDDEN void kk_buf_puts(struct kk_buf *b, const char *text);
KK_HIDDEN void kk_buf_printf(struct kk_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal of text (quotes and escapes); text must be UTF-8. */
KK_HIDDEN void kk_buf_json_string(struct kk_buf *b, const char *text);

#endif
