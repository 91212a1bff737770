/* The merchant cabinet's sign-in sessions (/lk/, issue 14): the pure rules of a session — is
 * it still alive, is its last-seen time due to be written, which cookie of a Cookie header is
 * it, may a proxy's X-Forwarded-Proto be believed. No I/O: the API layer (api/session.c) reads
 * and writes the rows and calls these. */
#ifndef KOPILKA_DOMAIN_LK_H
#define KOPILKA_DOMAIN_LK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/model.h"

#define LK_COOKIE "kopilka_lk"
/* A cookie token and a CSRF token: 32 random bytes in URL-safe base64 without padding. */
#define LK_TOKEN_BYTES 32
#define LK_TOKEN_CHARS 43
/* The last-seen time is written at most this often per session (and at most every half idle
 * timeout, so a timeout under two minutes still sees a session in use). */
#define LK_TOUCH_EVERY_MS (60 * 1000)

/* A session as stored: the cookie token itself is never kept, only its SHA-256 (hex). */
struct lk_session {
	char token_hash[65];
	int64_t account_id, merchant_id;
	char csrf[LK_TOKEN_CHARS + 1];
	int64_t cred_version; /* the account's at sign-in: a password change ends the session */
	enum role role;	      /* the effective role at sign-in: a role change ends it */
	int64_t created_ms, seen_ms;
	char *merchant_name; /* read with the row (owned; NULL when not read) */
};
void lk_session_clear(struct lk_session *s);

enum lk_state {
	LK_LIVE,
	LK_IDLE,    /* not used for idle_ms */
	LK_TOO_OLD, /* signed in longer ago than lifetime_ms */
	LK_REVOKED, /* the account is gone, or its password or role changed */
};

/* The role an account acts with: an owner account (a merchant's) is OWNER whatever its row
 * says. */
enum role lk_effective_role(const struct account *acc);

/* The state of session s at now_ms, its account now being acc (NULL: deleted). */
enum lk_state lk_session_state(const struct lk_session *s, const struct account *acc,
			       int64_t now_ms, int64_t idle_ms, int64_t lifetime_ms);

/* Whether a live session's last-seen time should be written now (see LK_TOUCH_EVERY_MS). */
bool lk_touch_due(const struct lk_session *s, int64_t now_ms, int64_t idle_ms);

/* The value of cookie `name` in a Cookie header ("a=1; kopilka_lk=xyz"), copied into out (cap
 * bytes). False when the header is NULL, has no such cookie, or its value is empty or does not
 * fit. When the name occurs more than once, the first is taken. */
bool lk_cookie_value(const char *header, const char *name, char *out, size_t cap);

/* Whether the Cookie header (may be NULL) holds a cookie named `name`, whatever its value. */
bool lk_cookie_present(const char *header, const char *name);

/* Whether s has the shape of a token (LK_TOKEN_CHARS URL-safe base64 characters). */
bool lk_token_shape(const char *s);

/* Whether addr (the peer's address as text) is one of the comma-separated addresses of list
 * (spaces around items ignored; NULL or "" trusts none). Compared as parsed addresses, so
 * "::1" and "0:0::1" are one. */
bool lk_proxy_trusted(const char *list, const char *addr);

/* Whether every item of list is an IPv4 or IPv6 address; on false, *bad_out (when not NULL)
 * points at the first bad item within list. */
bool lk_proxy_list_valid(const char *list, const char **bad_out);

/* Whether the request is to be answered as one that came over HTTPS: its peer is a trusted
 * proxy and X-Forwarded-Proto (may be NULL) says "https" (case-insensitive). */
bool lk_request_secure(const char *trusted_list, const char *addr, const char *forwarded_proto);

#endif
