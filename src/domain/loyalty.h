/* The arithmetic of the ledger: item totals, accrual, spending from lots, and the shares a
 * refund takes back or returns. Pure functions on integers; callers do the I/O. */
#ifndef KOPILKA_DOMAIN_LOYALTY_H
#define KOPILKA_DOMAIN_LOYALTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/money.h"

/* An item's total: price (minor) x quantity (thousandths), rounded half up to the minor unit. */
money_t item_total_minor(money_t price_minor, int64_t qty_milli);

enum accrual_type { ACCRUAL_AMOUNT, ACCRUAL_PERCENTAGE };

/* One accrual rule of the loyalty settings. */
struct accrual_rule {
	enum accrual_type type;
	int64_t
	    amount; /* ACCRUAL_AMOUNT: minor units; ACCRUAL_PERCENTAGE: hundredths of a percent */
};

/* The base a percentage applies to: card+cash when that is > 0, but never more than the item
 * total (paid money above it is accepted and accrues nothing); else the item total less the
 * spent amount (never below 0). */
money_t accrual_base_minor(money_t paid_minor, money_t items_total_minor, money_t spent_minor);

/* Points accrued by a rule on a base: the fixed amount, or floor(base * percent / 100). */
money_t accrual_minor(const struct accrual_rule *rule, money_t base_minor);

/* A points lot as the spend planner sees it. Callers pass lots sorted soonest-expiring first
 * (never-expiring last). */
struct lot_view {
	int64_t lot_id;
	money_t remaining_minor; /* >= 0 */
	money_t take_minor;	 /* OUT: what the plan takes from this lot */
};

/* Plans taking amount_minor from lots in the given order. Fills take_minor of each lot.
 * Returns false (takes all zero) when the lots hold less than the amount. */
bool spend_plan(struct lot_view *lots, size_t n, money_t amount_minor);

/* The cumulative share of `whole` that belongs to `part_cum` out of `total`, rounded down:
 * floor(whole * part_cum / total), and exactly `whole` when part_cum == total. The amount a
 * refund takes back or returns is share_cumulative(after) - share_cumulative(before), so that
 * several partial refunds add up to the whole and never exceed it. total > 0,
 * 0 <= part_cum <= total, whole >= 0. */
money_t share_cumulative(money_t whole, money_t part_cum, money_t total);

/* What one spend took from one lot, as refunds see it. */
struct lot_return {
	int64_t lot_id;
	money_t taken_minor;	/* what the spend took from this lot */
	money_t returned_minor; /* IN: already returned by earlier refunds; OUT: updated */
	money_t give_minor;	/* OUT: what this refund returns into the lot */
};

/* Distributes amount_minor back over the lots a spend took from, in the given order (callers
 * pass latest-expiring first), never returning more into a lot than was taken from it.
 * Returns false when amount exceeds what remains to be returned (nothing changed). */
bool refund_distribute(struct lot_return *lots, size_t n, money_t amount_minor);

#endif
