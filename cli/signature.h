/* The Kopilka-Signature header of a webhook delivery (docs/CLI.md, "webhooks listen"):
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>`, Stripe's
 * shape. Pure: the caller gives the clock. */
#ifndef KOPILKA_CLI_SIGNATURE_H
#define KOPILKA_CLI_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

enum signature_result {
	SIGNATURE_OK = 0,
	SIGNATURE_MISSING,   /* no header */
	SIGNATURE_MALFORMED, /* no t=, no v1=, or a part that is not `key=value` */
	SIGNATURE_EXPIRED,   /* t is further than the tolerance from now */
	SIGNATURE_MISMATCH,  /* no v1 is the body's HMAC with this secret */
};

/* A short English reason for a result; a static string. */
const char *signature_result_text(enum signature_result result);

/* Checks header (NULL: missing) against body with secret: some v1= of it (a header may carry
 * several, as during a secret's rotation) must be the hex HMAC-SHA256 of "<t>.<body>",
 * compared in constant time, and |now - t| must be at most tolerance_s (0: any t). *t_out
 * receives t when the header has one. */
enum signature_result signature_verify(const char *header, const char *body, size_t body_len,
				       const char *secret, int64_t now_s, int64_t tolerance_s,
				       int64_t *t_out);

/* Writes the header for body signed at t with secret into out (cap >= 96 bytes): what the
 * server sends (the unit tests sign with it). */
void signature_make(const char *body, size_t body_len, const char *secret, int64_t t, char *out,
		    size_t cap);

#endif
