/* Ledger operations (see ledger.h). */
#include "service/ledger.h"

#include <stdlib.h>

#include "service/cardupdates.h"
#include "service/holds.h"
#include "store/holds.h"
#include "store/ledger.h"

/* Lots read for one spend or take-back; a client with more live lots than this spends from
 * the first ones, which the available-balance check makes a rare, refused case. */
#define LOTS_MAX 1024

bool ledger_require(struct store_conn *db, int64_t client_id, enum currency cur, money_t amount,
		    const char *field, int64_t now, struct ledger_read *rd, struct outcome *o)
{
	if (amount <= 0)
		return true;
	money_t available = 0;
	if (!outcome_store(o, rd ? ledger_available_read(db, client_id, cur, now, &available, rd)
				 : ledger_available(db, client_id, cur, now, &available)))
		return false;
	if (amount <= available)
		return true;
	char have[FIXED_FMT_MAX];
	fixed_format(available < 0 ? 0 : available, MONEY_DIGITS, have);
	return outcome_refuse(o, OUTCOME_INVALID, "insufficient_funds",
			      "%s: the customer has only %s %s available", field, have,
			      currency_name(cur));
}

/* Writes a ledger row and moves the balance with it (and the debt and held amounts): now, or,
 * with `defer` of the same client and currency, when ledger_read_flush writes defer's moves. */
static enum store_rc add_row_defer(struct store_conn *db, const struct ledger_entry *e,
				   money_t d_debt, money_t d_held, struct ledger_read *defer)
{
	enum store_rc rc = STORE(db, ledger_add, e);
	/* Every move of a balance passes here: the one place a client's pass learns of it. */
	if (rc == STORE_OK)
		rc = card_update_note(db, e->merchant_id, e->client_id, e->created_ms);
	if (rc != STORE_OK)
		return rc;
	if (defer && defer->client_id == e->client_id && defer->cur == e->currency) {
		defer->d_balance += e->amount_minor;
		defer->d_debt += d_debt;
		defer->d_held += d_held;
		defer->pending = true;
		return STORE_OK;
	}
	return STORE(db, balance_add, e->merchant_id, e->client_id, e->currency, e->amount_minor,
		     d_debt, d_held);
}

static enum store_rc add_row(struct store_conn *db, const struct ledger_entry *e, money_t d_debt,
			     money_t d_held)
{
	return add_row_defer(db, e, d_debt, d_held, NULL);
}

enum store_rc ledger_read_flush(struct store_conn *db, int64_t merchant_id, struct ledger_read *rd)
{
	if (!rd->pending)
		return STORE_OK;
	rd->pending = false;
	return STORE(db, balance_add, merchant_id, rd->client_id, rd->cur, rd->d_balance,
		     rd->d_debt, rd->d_held);
}

/* A ledger row of an order (or with a reason: a manual one) and its balance move (kept in
 * defer, see add_row_defer). */
static enum store_rc add_entry_defer(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				     enum currency cur, money_t amount, enum ledger_type type,
				     int64_t order_id, int64_t now, money_t d_debt,
				     struct ledger_read *defer, const char *reason)
{
	struct ledger_entry e = {.merchant_id = merchant_id,
				 .client_id = client_id,
				 .currency = cur,
				 .amount_minor = amount,
				 .type = type,
				 .order_id = order_id,
				 .created_ms = now,
				 .reason = reason};
	return add_row_defer(db, &e, d_debt, 0, defer);
}

static enum store_rc add_entry(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			       enum currency cur, money_t amount, enum ledger_type type,
			       int64_t order_id, int64_t now, money_t d_debt)
{
	return add_entry_defer(db, merchant_id, client_id, cur, amount, type, order_id, now, d_debt,
			       NULL, NULL);
}

enum store_rc ledger_available(struct store_conn *db, int64_t client_id, enum currency cur,
			       int64_t now, money_t *available_out)
{
	struct balance b;
	money_t lots = 0;
	enum store_rc rc = STORE(db, balance_get, client_id, cur, &b);
	if (rc == STORE_OK)
		rc = STORE(db, lots_unexpired_sum, client_id, cur, now, &lots);
	/* Held points are already out of the lots; those of holds that expired but were not yet
	 * released count as released (API.md 4.3). */
	money_t released = 0;
	if (rc == STORE_OK && b.held_minor > 0)
		rc = STORE(db, holds_expired_sum, client_id, cur, now, &released);
	if (rc == STORE_OK)
		*available_out = lots - b.debt_minor + released;
	return rc;
}

/* Room for the live lots of a first read: clients hold a few lots (2-3 in the benchmark data);
 * only one who fills it is read again with room for up to LOTS_MAX. Allocating and zeroing
 * room for 1,024 lots on every spend was ~17% of an order's instructions. */
#define LOTS_FIRST 16

/* Reads the client's live lots (at most LOTS_MAX) into a heap array (caller frees), with room
 * for cap of them first. */
static enum store_rc live_lots(struct store_conn *db, int64_t client_id, enum currency cur,
			       int64_t now, size_t cap, struct lot **lots_out, size_t *n_out)
{
	for (;;) {
		/* lots_spendable fills every entry it counts: no zeroing needed. */
		struct lot *lots = xmalloc(cap * sizeof(*lots));
		size_t n = 0;
		enum store_rc rc = STORE(db, lots_spendable, client_id, cur, now, lots, cap, &n);
		if (rc != STORE_OK) {
			free(lots);
			return rc;
		}
		/* Fewer than asked for: that is all of them (the query is LIMIT cap). */
		if (n < cap || cap == LOTS_MAX) {
			*lots_out = lots;
			*n_out = n;
			return STORE_OK;
		}
		free(lots);
		cap = cap * 8 < LOTS_MAX ? cap * 8 : LOTS_MAX;
	}
}

/* Plans taking up to amount from lots; returns what the lots cover. Fills views[i].take. */
static money_t plan_takes(const struct lot *lots, size_t n, struct lot_view *views, money_t amount)
{
	money_t left = amount;
	for (size_t i = 0; i < n; i++) {
		views[i].lot_id = lots[i].id;
		views[i].remaining_minor = lots[i].remaining_minor;
		views[i].take_minor = 0;
	}
	money_t covered = 0;
	for (size_t i = 0; i < n; i++)
		covered += lots[i].remaining_minor;
	if (covered >= amount) {
		bool ok = spend_plan(views, n, amount);
		(void)ok;
		return amount;
	}
	for (size_t i = 0; i < n && left > 0; i++) {
		views[i].take_minor = views[i].remaining_minor;
		left -= views[i].take_minor;
	}
	return covered;
}

/* Takes amount from the lots given (soonest-expiring first), recording the takes under the
 * order or the hold of e, and writes e (amount -amount). */
static enum store_rc take_from(struct store_conn *db, struct ledger_entry *e, money_t amount,
			       money_t d_held, const struct lot *lots, size_t n,
			       struct ledger_read *defer)
{
	int64_t order_id = e->order_id;
	enum store_rc rc = STORE_OK;
	struct lot_view *views = xcalloc(n ? n : 1, sizeof(*views));
	if (plan_takes(lots, n, views, amount) < amount) {
		rc = STORE_CONFLICT;
		goto cleanup;
	}
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if (views[i].take_minor == 0)
			continue;
		struct lot_take t = {.order_id = order_id,
				     .hold_id = e->hold_id,
				     .lot_id = views[i].lot_id,
				     .taken_minor = views[i].take_minor};
		rc = STORE(db, lot_add, views[i].lot_id, -views[i].take_minor);
		if (rc == STORE_OK)
			rc = STORE(db, lot_take_add, &t);
	}
	e->amount_minor = -amount;
	if (rc == STORE_OK)
		rc = add_row_defer(db, e, 0, d_held, defer);
cleanup:
	free(views);
	return rc;
}

/* take_from the client's live lots, read now. */
static enum store_rc take_from_lots(struct store_conn *db, struct ledger_entry *e, money_t amount,
				    money_t d_held)
{
	struct lot *lots = NULL;
	size_t n = 0;
	enum store_rc rc =
	    live_lots(db, e->client_id, e->currency, e->created_ms, LOTS_FIRST, &lots, &n);
	if (rc == STORE_OK)
		rc = take_from(db, e, amount, d_held, lots, n, NULL);
	free(lots);
	return rc;
}

enum store_rc ledger_available_read(struct store_conn *db, int64_t client_id, enum currency cur,
				    int64_t now, money_t *available_out, struct ledger_read *rd)
{
	*rd = (struct ledger_read){
	    .client_id = client_id, .cur = cur, .now = now, .holds_released = rd->holds_released};
	/* The balance and the first live lots in one statement; the lots are read again when
	 * there may be more, or when releasing expired holds gave points back to them. */
	rd->lots = xmalloc(LOTS_FIRST * sizeof(*rd->lots));
	enum store_rc rc = STORE(db, balance_lots, client_id, cur, now, &rd->balance, rd->lots,
				 LOTS_FIRST, &rd->n_lots);
	size_t again = rd->n_lots == LOTS_FIRST ? LOTS_FIRST * 8 : 0;
	if (rc == STORE_OK && rd->balance.held_minor > 0 && !rd->holds_released) {
		size_t released = 0;
		rc = holds_release_expired(db, client_id, now, 64, &released);
		rd->holds_released = true;
		if (rc == STORE_OK && released > 0) {
			rc = STORE(db, balance_get, client_id, cur, &rd->balance);
			again = again ? again : LOTS_FIRST;
		}
	}
	if (rc == STORE_OK && again) {
		free(rd->lots);
		rd->lots = NULL;
		rd->n_lots = 0;
		rc = live_lots(db, client_id, cur, now, again, &rd->lots, &rd->n_lots);
	}
	if (rc != STORE_OK)
		return rc;
	money_t lots = 0;
	if (rd->n_lots < LOTS_MAX) { /* every live lot: the same rows lots_unexpired_sum adds */
		for (size_t i = 0; i < rd->n_lots; i++)
			lots += rd->lots[i].remaining_minor;
	} else {
		rc = STORE(db, lots_unexpired_sum, client_id, cur, now, &lots);
	}
	money_t released = 0;
	if (rc == STORE_OK && rd->balance.held_minor > 0)
		rc = STORE(db, holds_expired_sum, client_id, cur, now, &released);
	if (rc == STORE_OK)
		*available_out = lots - rd->balance.debt_minor + released;
	return rc;
}

void ledger_read_clear(struct ledger_read *rd)
{
	free(rd->lots);
	rd->lots = NULL;
	rd->n_lots = 0;
}

enum store_rc ledger_spend_read(struct store_conn *db, int64_t merchant_id, struct ledger_read *rd,
				money_t amount, int64_t order_id)
{
	if (amount <= 0)
		return STORE_OK;
	struct ledger_entry e = {.merchant_id = merchant_id,
				 .client_id = rd->client_id,
				 .currency = rd->cur,
				 .type = LEDGER_SPEND,
				 .order_id = order_id,
				 .created_ms = rd->now};
	return take_from(db, &e, amount, 0, rd->lots, rd->n_lots, rd);
}

enum store_rc ledger_spend(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			   enum currency cur, money_t amount, int64_t order_id, int64_t now)
{
	if (amount <= 0)
		return STORE_OK;
	struct ledger_entry e = {.merchant_id = merchant_id,
				 .client_id = client_id,
				 .currency = cur,
				 .type = LEDGER_SPEND,
				 .order_id = order_id,
				 .created_ms = now};
	return take_from_lots(db, &e, amount, 0);
}

enum store_rc ledger_hold(struct store_conn *db, const struct hold *h, int64_t now)
{
	if (h->amount_minor <= 0)
		return STORE_OK;
	bool direct = h->kind == HOLD_DIRECT;
	struct ledger_entry e = {.merchant_id = h->merchant_id,
				 .client_id = h->client_id,
				 .currency = h->currency,
				 .type = direct ? LEDGER_SPEND : LEDGER_HOLD,
				 .hold_id = h->id,
				 .created_ms = now};
	return take_from_lots(db, &e, h->amount_minor, direct ? 0 : h->amount_minor);
}

enum store_rc ledger_hold_written_off(struct store_conn *db, const struct hold *h)
{
	if (h->amount_minor <= 0)
		return STORE_OK;
	return STORE(db, balance_add, h->merchant_id, h->client_id, h->currency, 0, 0,
		     -h->amount_minor);
}

enum store_rc ledger_release(struct store_conn *db, const struct hold *h, int64_t now)
{
	if (h->amount_minor <= 0)
		return STORE_OK;
	struct lot_take *takes = xcalloc(LOTS_MAX, sizeof(*takes));
	size_t n = 0;
	money_t back = 0;
	enum store_rc rc = STORE(db, hold_takes_get, h->id, takes, LOTS_MAX, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		rc = STORE(db, lot_add, takes[i].lot_id, takes[i].taken_minor);
		back += takes[i].taken_minor;
	}
	free(takes);
	if (rc == STORE_OK && back != h->amount_minor)
		rc = STORE_ERROR; /* the check would report it: never write a wrong release */
	struct ledger_entry e = {.merchant_id = h->merchant_id,
				 .client_id = h->client_id,
				 .currency = h->currency,
				 .amount_minor = h->amount_minor,
				 .type = LEDGER_RELEASE,
				 .hold_id = h->id,
				 .created_ms = now};
	if (rc == STORE_OK)
		rc = add_row(db, &e, 0, -h->amount_minor);
	return rc;
}

/* ledger_accrue given the client's current debt; the balance's move kept in defer when it is
 * this client's and currency's. */
static enum store_rc accrue_with_debt(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				      enum currency cur, money_t amount, int64_t expires_ms,
				      int64_t order_id, int64_t now, money_t debt,
				      struct ledger_read *defer, enum ledger_type type,
				      const char *reason)
{
	money_t pay_debt = debt < amount ? debt : amount;
	if (amount - pay_debt > 0) {
		struct lot l = {.merchant_id = merchant_id,
				.client_id = client_id,
				.currency = cur,
				.remaining_minor = amount - pay_debt,
				.original_minor = amount - pay_debt,
				.expires_ms = expires_ms,
				.order_id = order_id};
		enum store_rc rc = STORE(db, lot_create, merchant_id, &l, NULL);
		if (rc != STORE_OK)
			return rc;
	}
	return add_entry_defer(db, merchant_id, client_id, cur, amount, type, order_id, now,
			       -pay_debt, defer, reason);
}

enum store_rc ledger_accrue(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    enum currency cur, money_t amount, int64_t expires_ms, int64_t order_id,
			    int64_t now)
{
	return ledger_accrue_read(db, merchant_id, client_id, cur, amount, expires_ms, order_id,
				  now, NULL);
}

enum store_rc ledger_accrue_read(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				 enum currency cur, money_t amount, int64_t expires_ms,
				 int64_t order_id, int64_t now, struct ledger_read *rd)
{
	if (amount <= 0)
		return STORE_OK;
	struct balance b;
	bool same = rd && rd->client_id == client_id && rd->cur == cur;
	if (same) {
		b = rd->balance; /* its debt: the moves kept in rd are a spend's, debt unmoved */
	} else {
		enum store_rc rc = STORE(db, balance_get, client_id, cur, &b);
		if (rc != STORE_OK)
			return rc;
	}
	return accrue_with_debt(db, merchant_id, client_id, cur, amount, expires_ms, order_id, now,
				b.debt_minor, same ? rd : NULL, LEDGER_ACCRUAL, NULL);
}

enum store_rc ledger_opening(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			     enum currency cur, money_t amount, const char *reason,
			     int64_t expires_ms, int64_t now)
{
	return accrue_with_debt(db, merchant_id, client_id, cur, amount, expires_ms, 0, now, 0,
				NULL, LEDGER_OPENING, reason);
}

enum store_rc ledger_manual(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    enum currency cur, money_t amount, enum ledger_type type,
			    const char *reason, int64_t expires_ms, int64_t now)
{
	if (amount < 0) {
		struct ledger_entry e = {.merchant_id = merchant_id,
					 .client_id = client_id,
					 .currency = cur,
					 .type = type,
					 .created_ms = now,
					 .reason = reason};
		return take_from_lots(db, &e, -amount, 0);
	}
	struct balance b;
	enum store_rc rc = STORE(db, balance_get, client_id, cur, &b);
	if (rc != STORE_OK)
		return rc;
	return accrue_with_debt(db, merchant_id, client_id, cur, amount, expires_ms, 0, now,
				b.debt_minor, NULL, type, reason);
}

enum store_rc ledger_take_back(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			       enum currency cur, money_t amount, int64_t refund_order_id,
			       int64_t now)
{
	if (amount <= 0)
		return STORE_OK;
	struct lot *lots = NULL;
	size_t n = 0;
	enum store_rc rc = live_lots(db, client_id, cur, now, LOTS_FIRST, &lots, &n);
	if (rc != STORE_OK)
		return rc;
	struct lot_view *views = xcalloc(n ? n : 1, sizeof(*views));
	money_t from_lots = plan_takes(lots, n, views, amount);
	for (size_t i = 0; i < n && rc == STORE_OK; i++)
		if (views[i].take_minor > 0)
			rc = STORE(db, lot_add, views[i].lot_id, -views[i].take_minor);
	if (rc == STORE_OK)
		rc = add_entry(db, merchant_id, client_id, cur, -amount, LEDGER_REFUND_ACCRUAL,
			       refund_order_id, now, amount - from_lots);
	free(views);
	free(lots);
	return rc;
}

enum store_rc ledger_return_spend(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				  enum currency cur, money_t amount, int64_t sale_order_id,
				  int64_t refund_order_id, int64_t now)
{
	if (amount <= 0)
		return STORE_OK;
	struct lot_take *takes = xcalloc(LOTS_MAX, sizeof(*takes));
	struct lot_return *ret = xcalloc(LOTS_MAX, sizeof(*ret));
	size_t n = 0;
	enum store_rc rc = STORE(db, lot_takes_get, sale_order_id, takes, LOTS_MAX, &n);
	if (rc != STORE_OK)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		ret[i].lot_id = takes[i].lot_id;
		ret[i].taken_minor = takes[i].taken_minor;
		ret[i].returned_minor = takes[i].returned_minor;
	}
	if (!refund_distribute(ret, n, amount)) {
		rc = STORE_CONFLICT;
		goto cleanup;
	}
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if (ret[i].give_minor == 0)
			continue;
		rc = STORE(db, lot_add, ret[i].lot_id, ret[i].give_minor);
		if (rc == STORE_OK)
			rc = STORE(db, lot_take_returned, sale_order_id, ret[i].lot_id,
				   ret[i].returned_minor);
	}
	if (rc == STORE_OK)
		rc = add_entry(db, merchant_id, client_id, cur, amount, LEDGER_REFUND_SPEND,
			       refund_order_id, now, 0);
cleanup:
	free(takes);
	free(ret);
	return rc;
}

enum store_rc ledger_expire_sweep(struct store_conn *db, int64_t now, size_t max, size_t *n_out,
				  money_t *expired_out)
{
	*expired_out = 0;
	struct lot *lots = xcalloc(max ? max : 1, sizeof(*lots));
	size_t n = 0;
	enum store_rc rc = STORE(db, lots_expired, now, lots, max, &n);
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		rc = STORE(db, lot_add, lots[i].id, -lots[i].remaining_minor);
		if (rc == STORE_OK)
			rc = add_entry(db, lots[i].merchant_id, lots[i].client_id, lots[i].currency,
				       -lots[i].remaining_minor, LEDGER_EXPIRE, lots[i].order_id,
				       now, 0);
		*expired_out += lots[i].remaining_minor;
	}
	*n_out = rc == STORE_OK ? n : 0;
	free(lots);
	return rc;
}
