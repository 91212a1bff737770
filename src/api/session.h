/* The merchant cabinet's session (issue 14): a cookie that authenticates the cabinet's calls
 * when they also carry the session's CSRF token. The rows live in the database (store.h,
 * lk_session_*), so every node on one database shares them and a restart keeps them; the pure
 * rules are domain/lk.h. The endpoints (POST, GET, DELETE /session/) are handlers/session.c. */
#ifndef KOPILKA_API_SESSION_H
#define KOPILKA_API_SESSION_H

#include <stdbool.h>

#include "api/call.h"
#include "domain/lk.h"

enum session_result {
	SESSION_OK,
	SESSION_NONE,  /* no cookie, or one naming no live session: 401 */
	SESSION_CSRF,  /* a live session, but X-CSRF-Token missing or not its token: 403 */
	SESSION_ERROR, /* storage failed: 5xx */
};

/* Whether the request is the cabinet's, to be authenticated by its session: it has no
 * Authorization header, and it carries the session cookie or an X-CSRF-Token header. */
bool session_wanted(const struct request *req);

/* The live session of the request's cookie, with its account as it is now. Checks the CSRF
 * token against it; ends (deletes) a session found idle, too old or revoked; writes the
 * last-seen time when due. On SESSION_OK fills *s (lk_session_clear it) and *acc
 * (account_clear it); on anything else they hold nothing to free. */
enum session_result session_resolve(struct call *c, struct lk_session *s, struct account *acc);

/* session_resolve, answering a refusal: 401 without a Basic challenge (the browser must not
 * offer its own login dialog; when clear_cookie, with a Set-Cookie clearing a cookie that named
 * no live session), 403 naming X-CSRF-Token, or a storage error. True with *s and *acc filled
 * as session_resolve fills them. */
bool session_current(struct call *c, struct lk_session *s, struct account *acc,
		     bool clear_cookie) MUST_CHECK;

/* Authenticates the cabinet's call: fills c->who (the route's role is checked by the caller).
 * False when the call is answered (401, 403, 5xx). */
bool session_authenticate(struct call *c);

/* A new random token: LK_TOKEN_BYTES random bytes as URL-safe base64 (LK_TOKEN_CHARS + 1
 * bytes with the NUL). */
void session_token_new(char out[LK_TOKEN_CHARS + 1]);
/* The SHA-256 (hex) of a cookie token: what the row is keyed by. */
void session_token_hash(const char *token, char out[65]);

/* Runs fn(db, ctx) in a write transaction of its own (not call_write_tx: no Idempotency-Key
 * may store an answer that carries a session's secrets), again while storage answers
 * STORE_RETRY, at most three times, through the engine's run_write (SQLite: its writer
 * thread). Returns fn's result, or the commit's durable outcome. */
enum store_rc session_write(struct store_conn *db, enum store_rc (*fn)(struct store_conn *, void *),
			    void *ctx) MUST_CHECK;

/* Adds the Set-Cookie header that sets the cookie to token, or (token NULL) clears it. */
void session_cookie_header(struct call *c, const char *token);

#endif
