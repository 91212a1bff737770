/* Ledger operations that handlers compose inside one write transaction: what a client can
 * spend, spending from lots, accruing, taking back and returning on refunds, expiring lots.
 * Each keeps the invariant of API.md 3.1 (balance = sum of ledger rows = sum of lots - debt)
 * by writing the ledger row, the lots and the balance together. No HTTP here. */
#ifndef KOPILKA_SERVICE_LEDGER_H
#define KOPILKA_SERVICE_LEDGER_H

#include "service/outcome.h"
#include "store/store.h"

#define MS_PER_DAY 86400000LL

/* What the client can spend now: unexpired lots (which held points have left) less debt,
 * plus what expired holds not yet released took from unexpired lots (may be negative). */
enum store_rc ledger_available(struct store_conn *db, int64_t client_id, enum currency cur,
			       int64_t now, money_t *available_out) MUST_CHECK;

/* What a sale read of one client and currency, for the steps after it in the same
 * transaction: the balance row and the live lots (soonest-expiring first), so that
 * ledger_spend_read and ledger_accrue_read need not read them again; and what those two move
 * on the balance, written once by ledger_read_flush. Valid only while nothing else moves that
 * client's lots or balance in between. Zeroed by the caller, who sets `holds_released` when
 * it released the client's expired holds itself. */
struct ledger_read {
	int64_t client_id;
	enum currency cur;
	int64_t now;
	bool holds_released;
	struct balance balance;
	struct lot *lots; /* heap; ledger_read_clear frees it */
	size_t n_lots;
	money_t d_balance, d_debt, d_held; /* not yet written to the balance row */
	bool pending;
};

/* ledger_available that keeps what it read in *rd (lots read once: their sum is the
 * available amount's lots part). Unless rd->holds_released, expired holds are released first
 * when the balance shows held points (holds_release_expired): what they reserved is the
 * client's again (API.md 4.3), and a client without held points is spared the look-up. */
enum store_rc ledger_available_read(struct store_conn *db, int64_t client_id, enum currency cur,
				    int64_t now, money_t *available_out,
				    struct ledger_read *rd) MUST_CHECK;
void ledger_read_clear(struct ledger_read *rd);

/* ledger_spend from the lots in rd (read by ledger_available_read at the same `now`); the
 * balance's move is kept in rd for ledger_read_flush. */
enum store_rc ledger_spend_read(struct store_conn *db, int64_t merchant_id, struct ledger_read *rd,
				money_t amount, int64_t order_id) MUST_CHECK;

/* ledger_accrue with the debt known from rd when rd is of this client and currency (a spend
 * does not move debt; the balance's move is then kept in rd for ledger_read_flush), else read
 * and written at once. */
enum store_rc ledger_accrue_read(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				 enum currency cur, money_t amount, int64_t expires_ms,
				 int64_t order_id, int64_t now, struct ledger_read *rd) MUST_CHECK;

/* Writes the balance moves kept in rd as one balance row update (one statement for a sale's
 * spend and accrual). Before the transaction commits, or the balance is not the ledger's sum. */
enum store_rc ledger_read_flush(struct store_conn *db, int64_t merchant_id,
				struct ledger_read *rd) MUST_CHECK;

/* The rule every spend obeys (an order's points, a hold, a write-off): amount must not pass
 * what the client can spend now (ledger_available). Refused as 400 insufficient_funds naming
 * field and what the client has. With rd (not NULL), what it read is kept there for the
 * spend that follows (ledger_available_read). */
bool ledger_require(struct store_conn *db, int64_t client_id, enum currency cur, money_t amount,
		    const char *field, int64_t now, struct ledger_read *rd,
		    struct outcome *o) MUST_CHECK;

/* Takes amount from the client's lots, soonest-expiring first, recording what came from
 * which lot under order_id. The caller has checked the amount against ledger_available;
 * STORE_CONFLICT when the lots do not cover it after all (nothing written). */
enum store_rc ledger_spend(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			   enum currency cur, money_t amount, int64_t order_id,
			   int64_t now) MUST_CHECK;

/* Takes a hold's amount (h->id set) from the lots, soonest-expiring first, recording the takes
 * under the hold: a `hold` row and held amount for a two-phase hold, a `spend` row for a
 * direct write-off. STORE_CONFLICT when the lots do not cover it (nothing written). */
enum store_rc ledger_hold(struct store_conn *db, const struct hold *h, int64_t now) MUST_CHECK;

/* A two-phase hold became final: its points leave the held amount (its `hold` row stands as
 * the spend). */
enum store_rc ledger_hold_written_off(struct store_conn *db, const struct hold *h) MUST_CHECK;

/* Gives an active hold's points back to the lots they came from (an expired lot gets them back
 * expired) with a `release` row. */
enum store_rc ledger_release(struct store_conn *db, const struct hold *h, int64_t now) MUST_CHECK;

/* Adds amount as a new lot expiring at expires_ms (0: never), paying any debt first. */
enum store_rc ledger_accrue(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    enum currency cur, money_t amount, int64_t expires_ms, int64_t order_id,
			    int64_t now) MUST_CHECK;

/* A row that is not a sale's: `type` (LEDGER_ADJUST or LEDGER_OPENING) with its reason. amount >
 * 0 is added as a new lot expiring at expires_ms (0: never), paying any debt first; amount < 0
 * is taken from the live lots soonest-expiring first (the caller has checked it against
 * ledger_available; STORE_CONFLICT when they do not cover it, nothing written). */
enum store_rc ledger_manual(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			    enum currency cur, money_t amount, enum ledger_type type,
			    const char *reason, int64_t expires_ms, int64_t now) MUST_CHECK;

/* The opening balance of a client just created (an import): amount > 0 as a lot expiring at
 * expires_ms (0: never) and an `opening` row with its reason. A new client has no debt, so
 * nothing is read first. */
enum store_rc ledger_opening(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			     enum currency cur, money_t amount, const char *reason,
			     int64_t expires_ms, int64_t now) MUST_CHECK;

/* Takes back amount accrued earlier (a refund): from unexpired lots soonest-expiring first,
 * the rest as debt, so the balance may go below zero. */
enum store_rc ledger_take_back(struct store_conn *db, int64_t merchant_id, int64_t client_id,
			       enum currency cur, money_t amount, int64_t refund_order_id,
			       int64_t now) MUST_CHECK;

/* Returns amount of what sale_order_id spent into the lots it came from (latest-expiring
 * first; a lot already expired gets them back expired). */
enum store_rc ledger_return_spend(struct store_conn *db, int64_t merchant_id, int64_t client_id,
				  enum currency cur, money_t amount, int64_t sale_order_id,
				  int64_t refund_order_id, int64_t now) MUST_CHECK;

/* Writes off up to max lots that expired by now as `expire` rows. *n_out: how many lots;
 * *expired_out: the amount written off. */
enum store_rc ledger_expire_sweep(struct store_conn *db, int64_t now, size_t max, size_t *n_out,
				  money_t *expired_out) MUST_CHECK;

#endif
