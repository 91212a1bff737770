/* Outbound HTTP requests (the webhook deliveries, the Apple Wallet pushes, Google Wallet's
 * API): one request with libcurl, bounded in time and in the answer it reads, that reaches only
 * public addresses unless told otherwise. The address is checked where the connection is
 * opened, on what the host name resolved to at that moment, so a name that resolves to the
 * server's own network is refused too. */
#ifndef KOPILKA_HTTP_OUTBOUND_H
#define KOPILKA_HTTP_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* Most bytes of an answer read; the rest is not waited for. */
#define OUTBOUND_ANSWER_MAX (64 * 1024)

struct outbound_result {
	long status;	    /* the answer's HTTP status; 0: no answer */
	char error[256];    /* why there was no answer ("" when there was one) */
	int64_t latency_ms; /* from the start to the answer's end or the failure */
};

/* Once, before any thread calls outbound_post (curl_global_init). false: libcurl failed. */
bool outbound_init(void);

/* One request: method ("POST", "PATCH"...) to url with the header lines ("Name: value") and
 * body (len bytes; NULL: none). answer: when not NULL, the answer's first OUTBOUND_ANSWER_MAX
 * bytes are appended to it (a longer answer is cut and its status still counts). */
struct outbound_request {
	const char *method;
	const char *url;
	const char *const *headers;
	size_t n_headers;
	const char *body;
	size_t len;
	int64_t timeout_ms;
	bool allow_private;
	struct buf *answer;
	bool http2;	       /* HTTP/2 (APNs speaks nothing else); h2c on an http:// URL */
	const char *cert_file; /* PEM client certificate and its key for TLS; NULL: none */
	const char *key_file;
	const char *user_agent; /* NULL: kopilka/1 */
};

/* Runs r (see outbound_post for the addresses refused). Thread-safe; blocks up to its
 * timeout. */
void outbound_request(const struct outbound_request *r, struct outbound_result *out);

/* POSTs body (len bytes) to url with the given header lines ("Name: value"), within
 * timeout_ms, refusing loopback, link-local, private and other non-public addresses unless
 * allow_private (domain/webhook.h). No redirects, no proxy, http and https only. Thread-safe;
 * blocks the calling thread up to timeout_ms. */
void outbound_post(const char *url, const char *const *headers, size_t n_headers, const char *body,
		   size_t len, int64_t timeout_ms, bool allow_private, struct outbound_result *out);

#endif
