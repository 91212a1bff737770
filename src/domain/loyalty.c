/* The ledger's arithmetic on integer minor units: item totals, accruals, which lots a spend
 * draws from and how refunds split back, with every sum kept exact. */
#include "domain/loyalty.h"

money_t item_total_minor(money_t price_minor, int64_t qty_milli)
{
	return fixed_mul_div_round(price_minor, qty_milli, 1000);
}

money_t accrual_base_minor(money_t paid_minor, money_t items_total_minor, money_t spent_minor)
{
	/* Paid money above the item total (the seed's own example pays 30 for a total of 10) is
	 * taken, but accrues nothing beyond the total: a 1-rouble sale paid "999999999999" by
	 * card must not mint points. */
	if (paid_minor > 0)
		return paid_minor < items_total_minor ? paid_minor : items_total_minor;
	__int128 rest = (__int128)items_total_minor - spent_minor;
	if (rest <= 0)
		return 0;
	return rest > INT64_MAX ? INT64_MAX : (money_t)rest;
}

money_t accrual_minor(const struct accrual_rule *rule, money_t base_minor)
{
	if (rule->type == ACCRUAL_AMOUNT)
		return rule->amount;
	if (base_minor <= 0 || rule->amount <= 0)
		return 0;
	/* amount is in hundredths of a percent: 500 = 5%, so divide by 100 * 100. */
	return fixed_mul_div_floor(base_minor, rule->amount, 10000);
}

bool spend_plan(struct lot_view *lots, size_t n, money_t amount_minor)
{
	__int128 available = 0;
	for (size_t i = 0; i < n; i++) {
		lots[i].take_minor = 0;
		if (lots[i].remaining_minor > 0)
			available += lots[i].remaining_minor;
	}
	if (amount_minor < 0 || available < amount_minor)
		return false;
	money_t left = amount_minor;
	for (size_t i = 0; i < n && left > 0; i++) {
		money_t take = lots[i].remaining_minor < left ? lots[i].remaining_minor : left;
		if (take <= 0)
			continue;
		lots[i].take_minor = take;
		left -= take;
	}
	return true;
}

money_t share_cumulative(money_t whole, money_t part_cum, money_t total)
{
	/* The last share is exactly the whole, whatever the rounding of earlier ones. */
	if (part_cum >= total)
		return whole;
	if (part_cum <= 0 || whole <= 0)
		return 0;
	return fixed_mul_div_floor(whole, part_cum, total);
}

/* What can still go back into one lot. */
static money_t lot_returnable(const struct lot_return *lot)
{
	money_t rest = lot->taken_minor - lot->returned_minor;
	return rest > 0 ? rest : 0;
}

bool refund_distribute(struct lot_return *lots, size_t n, money_t amount_minor)
{
	__int128 returnable = 0;
	for (size_t i = 0; i < n; i++)
		returnable += lot_returnable(&lots[i]);
	if (amount_minor < 0 || returnable < amount_minor)
		return false;
	money_t left = amount_minor;
	for (size_t i = 0; i < n; i++) {
		money_t room = lot_returnable(&lots[i]);
		money_t give = room < left ? room : left;
		lots[i].give_minor = give;
		lots[i].returned_minor += give;
		left -= give;
	}
	return true;
}
