/* Finding or registering the customer of a write (see clients.h). */
#include "service/clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/text.h"
#include "service/events.h"
#include "service/holds.h"
#include "service/ledger.h"
#include "service/views.h"
#include "store/clients.h"
#include "store/webhooks.h"

/* Registers fresh (its token made here) as POST /clients/ and an order's auto-registration do:
 * by phone alone when its email is another client's; *cl the client as stored, locked;
 * client.created in the webhook outbox. A phone registered meanwhile by a concurrent write (on
 * PostgreSQL the insert waited for it): STORE_RETRY, the caller's transaction runs again and
 * finds the client. */
static enum store_rc client_register(struct store_conn *db, struct client *fresh, struct client *cl)
{
	random_hex(fresh->token, 16);
	int64_t id = 0;
	enum store_rc rc = STORE(db, client_create, fresh, &id);
	if (rc == STORE_CONFLICT && fresh->phone && fresh->email) {
		fresh->email = NULL;
		rc = STORE(db, client_create, fresh, &id);
	}
	if (rc == STORE_OK)
		rc = STORE(db, client_lock, fresh->merchant_id, id, cl);
	if (rc == STORE_OK)
		rc = event_client(db, EVENT_CLIENT_CREATED, cl, now_ms());
	return rc == STORE_CONFLICT ? STORE_RETRY : rc;
}

bool client_find_or_register(struct store_conn *db, int64_t merchant_id, const char *phone,
			     const char *email, const char *name, bool auto_register,
			     const char *field, struct client *cl, struct outcome *o)
{
	enum store_rc rc = STORE_NOT_FOUND;
	char email_lc[EMAIL_MAX + 1];
	snprintf(email_lc, sizeof(email_lc), "%s", email ? email : "");
	text_ascii_lower(email_lc);
	/* Locked, then as it is now (read again where writers run side by side): what this
	 * write decides from (balance, purchases, coupons) is the client's as it is now, and no
	 * other write changes it until commit. By phone in one step. */
	if (phone)
		rc = STORE(db, client_lock_phone, merchant_id, phone, cl);
	if (rc == STORE_OK) {
		/* An erased client keeps no phone; never decide for one. */
		if (cl->erased_ms)
			rc = STORE_RETRY;
		return outcome_store(o, rc);
	}
	if (rc == STORE_NOT_FOUND && email)
		rc = STORE(db, client_find_email, merchant_id, email_lc, cl);
	if (rc == STORE_OK) {
		rc = STORE(db, client_lock, merchant_id, cl->id, cl);
		/* Erased between the lookup and the lock (PostgreSQL): run again, and the phone or
		 * email finds nobody. */
		if (rc == STORE_OK && cl->erased_ms)
			rc = STORE_RETRY;
		return outcome_store(o, rc);
	}
	if (rc != STORE_NOT_FOUND)
		return outcome_store(o, rc);
	if (!auto_register)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "unknown_customer",
				      "%s: no client with this phone or email, and "
				      "autoRegisterClients is off",
				      field);
	struct client fresh = {.merchant_id = merchant_id,
			       .phone = (char *)phone,
			       .email = (char *)email,
			       .name = (char *)name,
			       .created_ms = now_ms()};
	return outcome_store(o, client_register(db, &fresh, cl));
}

bool client_enrol(struct store_conn *db, const struct enrolment *e, int64_t now, struct client *cl,
		  struct outcome *o)
{
	enum store_rc rc = STORE(db, client_find_phone, e->merchant_id, e->phone, cl);
	if (rc == STORE_OK) {
		/* A member already: the consent is recorded; what they typed fills only what the
		 * client does not hold (the POS's data stays). */
		int64_t id = cl->id;
		client_clear(cl);
		rc = STORE(db, client_consent, e->merchant_id, id, e->consent_version, now,
			   e->birthday, e->name);
		if (rc == STORE_OK)
			rc = STORE(db, client_lock, e->merchant_id, id, cl);
		if (rc == STORE_OK)
			rc = event_client(db, EVENT_CLIENT_UPDATED, cl, now);
		return outcome_store(o, rc);
	}
	if (rc != STORE_NOT_FOUND)
		return outcome_store(o, rc);
	struct client fresh = {.merchant_id = e->merchant_id,
			       .phone = e->phone,
			       .email = e->email,
			       .name = e->name,
			       .birthday = e->birthday,
			       .consent_version = e->consent_version,
			       .consent_ms = now,
			       .created_ms = now};
	return outcome_store(o, client_register(db, &fresh, cl));
}

bool balance_adjust(struct store_conn *db, int64_t merchant_id, int64_t client_id,
		    enum currency cur, money_t amount_minor, const char *reason, int64_t now,
		    money_t available_out[CURRENCY_COUNT], struct outcome *o)
{
	struct client cl = {0};
	enum store_rc rc = STORE(db, client_lock, merchant_id, client_id, &cl);
	bool erased = rc == STORE_OK && !client_refuse_erased(&cl, "id", o);
	client_clear(&cl);
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
				      "id: client %lld not found", (long long)client_id);
	if (erased)
		return false;
	size_t released = 0;
	if (rc == STORE_OK)
		rc = holds_release_expired(db, client_id, now, 64, &released);
	if (!outcome_store(o, rc))
		return false;
	/* Never below zero: a negative adjustment takes only what the client can spend now. */
	if (amount_minor < 0 &&
	    !ledger_require(db, client_id, cur, -amount_minor, "amount", now, NULL, o))
		return false;
	rc = ledger_manual(db, merchant_id, client_id, cur, amount_minor, LEDGER_ADJUST, reason, 0,
			   now);
	if (rc == STORE_CONFLICT)
		return outcome_refuse(o, OUTCOME_INVALID, "insufficient_funds",
				      "amount: the customer's points do not cover it");
	if (!outcome_store(o, event_balance(db, merchant_id, client_id, now)))
		return false;
	for (int c = 0; c < CURRENCY_COUNT; c++)
		if (!outcome_store(o, ledger_available(db, client_id, (enum currency)c, now,
						       &available_out[c])))
			return false;
	return true;
}

bool client_refuse_erased(const struct client *cl, const char *field, struct outcome *o)
{
	if (!cl->erased_ms)
		return true;
	return outcome_refuse(o, OUTCOME_CONFLICT, "client_erased",
			      "%s: client %lld's personal data was erased; an erased client takes "
			      "no new sales, holds, coupons or changes (register the person anew)",
			      field, (long long)cl->id);
}

/* The scrubbed copies of a client's events, gathered before any is written back (no write
 * while the cursor is open). */
struct scrubbed_events {
	int64_t *ids;
	char **data;
	size_t n, cap;
};

static bool scrub_event_row(void *ctx, const struct webhook_event *ev)
{
	struct scrubbed_events *s = ctx;
	char *clean = view_scrub_personal_text(ev->data);
	if (!clean) /* not JSON: nothing of it is kept */
		clean = xstrdup("{}");
	if (strcmp(clean, ev->data) == 0) {
		free(clean);
		return true;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->ids = xrealloc(s->ids, s->cap * sizeof(*s->ids));
		s->data = xrealloc(s->data, s->cap * sizeof(*s->data));
	}
	s->ids[s->n] = ev->id;
	s->data[s->n++] = clean;
	return true;
}

bool client_erase_personal(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			   int64_t now, struct client *out, bool *already_out, struct outcome *o)
{
	*already_out = false;
	enum store_rc rc = STORE(db, client_lock, merchant_id, client_id, out);
	if (rc == STORE_NOT_FOUND)
		return outcome_refuse(o, OUTCOME_NOT_FOUND, "not_found",
				      "id: client %lld not found", (long long)client_id);
	if (!outcome_store(o, rc))
		return false;
	if (out->erased_ms) {
		*already_out = true;
		return true;
	}
	struct scrubbed_events ev = {0};
	rc = STORE(db, client_events, merchant_id, client_id, scrub_event_row, &ev);
	for (size_t i = 0; i < ev.n && rc == STORE_OK; i++)
		rc = STORE(db, event_set_data, ev.ids[i], ev.data[i]);
	for (size_t i = 0; i < ev.n; i++)
		free(ev.data[i]);
	free(ev.ids);
	free(ev.data);
	/* Not 32 hex digits: no card, pass or /clients/{token}/ lookup can take it, and unique
	 * as the id is. */
	char erased_token[33];
	snprintf(erased_token, sizeof(erased_token), "erased-%lld", (long long)client_id);
	if (rc == STORE_OK)
		rc = STORE(db, client_erase, merchant_id, client_id, out->token, erased_token, now);
	client_clear(out);
	if (rc == STORE_OK)
		rc = STORE(db, client_get, merchant_id, client_id, out);
	/* Mirrors kept by integrations learn that the person's data is gone. */
	if (rc == STORE_OK)
		rc = event_client(db, EVENT_CLIENT_UPDATED, out, now);
	return outcome_store(o, rc);
}
