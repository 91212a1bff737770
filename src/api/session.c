/* The cabinet's session cookie: resolving it to an account, its CSRF check, its expiry and its
 * Set-Cookie header (see session.h).
 *
 * Nothing is cached: every cabinet call reads its session and its account (two reads by key),
 * so a sign-out, a password or role change or a removed employee ends the session on every
 * node at once, and there is no cached result that work begun before a change could keep. */
#include "api/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "store/accounts.h"

bool session_wanted(const struct request *req)
{
	return !req->authorization &&
	       (req->n_csrf_tokens > 0 || lk_cookie_present(req->cookie, LK_COOKIE));
}

void session_token_new(char out[LK_TOKEN_CHARS + 1])
{
	unsigned char raw[LK_TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(out, LK_TOKEN_CHARS + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

void session_token_hash(const char *token, char out[65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

struct session_job {
	struct store_conn *db;
	enum store_rc (*fn)(struct store_conn *, void *);
	void *ctx;
	enum store_rc rc;
};

static void session_job(void *arg)
{
	struct session_job *j = arg;
	j->rc = STORE_RETRY;
	for (int attempt = 0; attempt < 3 && j->rc == STORE_RETRY; attempt++) {
		j->rc = STORE(j->db, begin, true);
		if (j->rc == STORE_OK)
			j->rc = j->fn(j->db, j->ctx);
		if (j->rc == STORE_OK)
			j->rc = STORE(j->db, commit);
		if (j->rc != STORE_OK)
			j->db->ops->rollback(j->db);
	}
}

/* Through the engine's run_write like every other write (SQLite: on its writer thread, in
 * its group commit), so a session's row is durable when the answer names it. */
enum store_rc session_write(struct store_conn *db, enum store_rc (*fn)(struct store_conn *, void *),
			    void *ctx)
{
	struct session_job j = {.db = db, .fn = fn, .ctx = ctx, .rc = STORE_ERROR};
	enum store_rc durable = STORE(db, run_write, session_job, &j);
	return j.rc != STORE_OK ? j.rc : durable;
}

static enum store_rc delete_row(struct store_conn *db, void *token_hash)
{
	return STORE(db, lk_session_delete, token_hash);
}

struct touch {
	const char *token_hash;
	int64_t now_ms;
};

static enum store_rc touch_row(struct store_conn *db, void *arg)
{
	const struct touch *t = arg;
	return STORE(db, lk_session_touch, t->token_hash, t->now_ms);
}

static const char *const state_names[] = {
    [LK_LIVE] = "live", [LK_IDLE] = "idle", [LK_TOO_OLD] = "too old", [LK_REVOKED] = "revoked"};

enum session_result session_resolve(struct call *c, struct lk_session *s, struct account *acc)
{
	const struct config *cfg = c->app->cfg;
	char token[LK_TOKEN_CHARS + 2];
	memset(s, 0, sizeof(*s));
	memset(acc, 0, sizeof(*acc));
	if (!lk_cookie_value(c->req->cookie, LK_COOKIE, token, sizeof(token)) ||
	    !lk_token_shape(token))
		return SESSION_NONE;
	char hash[65];
	session_token_hash(token, hash);
	sodium_memzero(token, sizeof(token));
	enum store_rc rc = STORE(c->db, lk_session_get, hash, s);
	if (rc == STORE_NOT_FOUND)
		return SESSION_NONE;
	if (rc != STORE_OK)
		return SESSION_ERROR;
	rc = STORE(c->db, account_self, s->account_id, acc);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
		lk_session_clear(s);
		account_clear(acc);
		return SESSION_ERROR;
	}
	int64_t now = now_ms();
	int64_t idle_ms = cfg->lk_idle_timeout_seconds * 1000;
	enum lk_state state = lk_session_state(s, rc == STORE_OK ? acc : NULL, now, idle_ms,
					       cfg->lk_lifetime_seconds * 1000);
	if (state != LK_LIVE) {
		/* Ended: removed now, so it can never come back (a clock set back, a role set
		 * back to what it was). */
		if (session_write(c->db, delete_row, hash) != STORE_OK)
			log_warn("lk: an ended session could not be removed; the sweep will");
		log_info("lk: session of account %lld (merchant %lld) ended: %s",
			 (long long)s->account_id, (long long)s->merchant_id, state_names[state]);
		lk_session_clear(s);
		account_clear(acc);
		return SESSION_NONE;
	}
	/* The token must be this session's: a page of another site cannot read it, so a
	 * request that the browser sends with the cookie on its own authenticates nothing. */
	const char *given = c->req->csrf_token;
	size_t want_len = strlen(s->csrf);
	if (c->req->n_csrf_tokens != 1 || !given || strlen(given) != want_len ||
	    sodium_memcmp(given, s->csrf, want_len) != 0) {
		lk_session_clear(s);
		account_clear(acc);
		return SESSION_CSRF;
	}
	if (lk_touch_due(s, now, idle_ms)) {
		struct touch t = {.token_hash = hash, .now_ms = now};
		/* A failed write only makes the session look idler than it is. */
		if (session_write(c->db, touch_row, &t) == STORE_OK)
			s->seen_ms = now;
	}
	return SESSION_OK;
}

bool session_current(struct call *c, struct lk_session *s, struct account *acc, bool clear_cookie)
{
	switch (session_resolve(c, s, acc)) {
	case SESSION_OK:
		return true;
	case SESSION_NONE:
		call_error(c, 401, "unauthorized",
			   "no session: the cookie " LK_COOKIE
			   " is missing, signed out or expired; "
			   "sign in with POST " API_BASE "/session/");
		if (clear_cookie && lk_cookie_present(c->req->cookie, LK_COOKIE))
			session_cookie_header(c, NULL);
		return false;
	case SESSION_CSRF:
		call_error(c, 403, "csrf_failed",
			   "X-CSRF-Token: one header holding the session's csrf_token is required "
			   "with the session cookie");
		return false;
	case SESSION_ERROR:
		call_store_error(c, STORE_ERROR);
		return false;
	}
	return false;
}

bool session_authenticate(struct call *c)
{
	struct lk_session s;
	struct account acc;
	if (!session_current(c, &s, &acc, false))
		return false;
	c->who.account_id = acc.id;
	c->who.merchant_id = acc.merchant_id;
	c->who.kind = acc.kind;
	c->who.role = lk_effective_role(&acc);
	c->who.cred_version = acc.cred_version;
	lk_session_clear(&s);
	account_clear(&acc);
	return true;
}

void session_cookie_header(struct call *c, const char *token)
{
	bool secure = lk_request_secure(c->app->cfg->trusted_proxy, c->req->remote_addr,
					c->req->forwarded_proto);
	char value[160];
	snprintf(value, sizeof(value), LK_COOKIE "=%s; Path=/;%s HttpOnly; SameSite=Strict%s",
		 token ? token : "", token ? "" : " Max-Age=0;", secure ? "; Secure" : "");
	response_header(c->resp, "Set-Cookie", value);
	sodium_memzero(value, sizeof(value));
}
