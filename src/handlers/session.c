/* The merchant cabinet's sign-in (issue 14): POST /session/ signs in with an account's login
 * and password (the same check, counters and lockout as Basic auth) and sets the session
 * cookie; GET /session/ shows the session; DELETE /session/ signs out. What a session is and
 * how other calls use it: api/session.h. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "api/session.h"
#include "core/log.h"
#include "handlers/handlers.h"
#include "store/accounts.h"

/* The longest password taken: auth_check_login refuses 512 bytes or more unread. */
#define SIGNIN_PASSWORD_MAX 511
#define SIGNIN_LOGIN_MAX 320

static const char *role_name(enum role r)
{
	return r == ROLE_OWNER ? "owner" : r == ROLE_MANAGER ? "manager" : "cashier";
}

/* The answer of POST and GET: who is signed in, for which merchant, and the CSRF token every
 * other call of the session must carry. */
static void render(struct call *c, const struct lk_session *s, const struct account *acc)
{
	struct jw w;
	call_json(c, 200, &w);
	jw_obj_begin(&w);
	jw_kstr(&w, "login", acc->email ? acc->email : acc->phone);
	jw_kstr(&w, "role", role_name(lk_effective_role(acc)));
	jw_key(&w, "merchant");
	jw_obj_begin(&w);
	jw_kint(&w, "id", s->merchant_id);
	jw_kstr(&w, "name", s->merchant_name);
	jw_obj_end(&w);
	jw_kstr(&w, "csrf_token", s->csrf);
	jw_kint(&w, "idle_timeout_s", c->app->cfg->lk_idle_timeout_seconds);
	jw_obj_end(&w);
	c->resp->merchant_id = s->merchant_id;
}

struct signin {
	struct who who;
	int64_t idle_ms, lifetime_ms;
	struct lk_session s;
	struct account acc;
	bool changed; /* the account changed between the password check and the session */
};

static enum store_rc signin_tx(struct store_conn *db, void *arg)
{
	struct signin *in = arg;
	int64_t now = now_ms(), purged = 0;
	/* Sign-ins are when sessions begin, so when ended ones are cleared too (the sweep also
	 * does). */
	enum store_rc rc =
	    STORE(db, lk_sessions_purge, now - in->idle_ms, now - in->lifetime_ms, &purged);
	account_clear(&in->acc);
	if (rc == STORE_OK)
		rc = STORE(db, account_self, in->who.account_id, &in->acc);
	/* The session holds the credential's version and role the password was checked
	 * against (a cached check may be older than the row): a change since refuses. */
	if (rc == STORE_NOT_FOUND ||
	    (rc == STORE_OK && (in->acc.cred_version != in->who.cred_version ||
				lk_effective_role(&in->acc) != in->who.role))) {
		in->changed = true;
		return STORE_NOT_FOUND;
	}
	if (rc != STORE_OK)
		return rc;
	in->s.account_id = in->acc.id;
	in->s.merchant_id = in->acc.merchant_id;
	in->s.cred_version = in->acc.cred_version;
	in->s.role = lk_effective_role(&in->acc);
	in->s.created_ms = in->s.seen_ms = now;
	rc = STORE(db, lk_session_create, &in->s);
	if (rc == STORE_OK)
		rc = STORE(db, lk_session_get, in->s.token_hash, &in->s);
	return rc;
}

void session_create(struct call *c)
{
	const char *login = NULL, *password = NULL;
	if (!body_string(c, c->body, "login", "login", true, 1, SIGNIN_LOGIN_MAX, &login) ||
	    !body_string(c, c->body, "password", "password", true, 1, SIGNIN_PASSWORD_MAX,
			 &password))
		return;
	struct signin in = {.idle_ms = c->app->cfg->lk_idle_timeout_seconds * 1000,
			    .lifetime_ms = c->app->cfg->lk_lifetime_seconds * 1000};
	int64_t retry_after = 0;
	enum auth_result ar = auth_check_login(c->app->auth, c->db, login, password,
					       c->req->remote_addr, &in.who, &retry_after);
	switch (ar) {
	case AUTH_OK:
		break;
	case AUTH_MISSING:
	case AUTH_FAILED:
		log_info("lk: a sign-in was refused: wrong login or password");
		call_error(c, 401, "unauthorized", "wrong login or password");
		return;
	case AUTH_LOCKED: {
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld", (long long)retry_after);
		response_header(c->resp, "Retry-After", secs);
		call_error(c, 429, "too_many_requests", "too many failed logins; retry in %lld s",
			   (long long)retry_after);
		return;
	}
	case AUTH_ERROR:
		call_store_error(c, STORE_ERROR);
		return;
	}
	char token[LK_TOKEN_CHARS + 1];
	session_token_new(token);
	session_token_hash(token, in.s.token_hash);
	session_token_new(in.s.csrf);
	enum store_rc rc = session_write(c->db, signin_tx, &in);
	if (rc == STORE_OK) {
		render(c, &in.s, &in.acc);
		session_cookie_header(c, token);
		log_info("lk: account %lld (merchant %lld, %s) signed in", (long long)in.acc.id,
			 (long long)in.acc.merchant_id, role_name(in.s.role));
	} else if (in.changed) {
		call_error(c, 401, "unauthorized", "wrong login or password");
	} else {
		call_store_error(c, rc);
	}
	sodium_memzero(token, sizeof(token));
	lk_session_clear(&in.s);
	account_clear(&in.acc);
}

void session_show(struct call *c)
{
	struct lk_session s;
	struct account acc;
	if (!session_current(c, &s, &acc, true))
		return;
	render(c, &s, &acc);
	lk_session_clear(&s);
	account_clear(&acc);
}

static enum store_rc signout_tx(struct store_conn *db, void *token_hash)
{
	return STORE(db, lk_session_delete, token_hash);
}

void session_end(struct call *c)
{
	struct lk_session s;
	struct account acc;
	if (!session_current(c, &s, &acc, true))
		return;
	enum store_rc rc = session_write(c->db, signout_tx, s.token_hash);
	if (rc == STORE_OK) {
		c->resp->status = 204;
		buf_reset(&c->resp->body);
		c->resp->merchant_id = s.merchant_id;
		session_cookie_header(c, NULL);
		log_info("lk: account %lld (merchant %lld) signed out", (long long)s.account_id,
			 (long long)s.merchant_id);
	} else {
		call_store_error(c, rc);
	}
	lk_session_clear(&s);
	account_clear(&acc);
}
