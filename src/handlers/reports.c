/* GET /reports/dashboard/ (API.md, "Reports"): the merchant cabinet's dashboard, read in one
 * transaction from the aggregates the triggers keep beside the orders, clients, ledger rows
 * and lots (store/report_sql.h), so it answers in a few milliseconds at a million clients. The
 * figures' definitions are API.md's; what is derived here (shares, averages, the ledger rows
 * grouped as accrued, spent and expired) is integer arithmetic on minor units. */
#include <stdio.h>
#include <stdlib.h>

#include "core/jw.h"
#include "core/util.h"
#include "domain/money.h"
#include "handlers/handlers.h"
#include "service/views.h"
#include "store/merchant.h"
#include "store/reports.h"
#include "store/store.h"

#define DAY_MS 86400000LL
#define REPORT_DAYS_DEFAULT 30

/* The first day of the month `ahead` months after the one holding day. */
static int64_t month_first_day(int64_t day, int ahead)
{
	int64_t year;
	int month, mday;
	utc_civil_from_days(day, &year, &month, &mday);
	int64_t m = year * 12 + (month - 1) + ahead;
	return utc_days_from_civil(m / 12, (int)(m % 12) + 1, 1);
}

/* part / whole as a percentage with 2 decimals (scaled by 100), rounded half away from zero;
 * 0 when whole <= 0. */
static int64_t percent_scaled(int64_t part, int64_t whole)
{
	return whole > 0 ? fixed_mul_div_round(part, 10000, whole) : 0;
}

static void write_date(struct jw *w, const char *key, int64_t day, bool with_day)
{
	int64_t year;
	int month, mday;
	utc_civil_from_days(day, &year, &month, &mday);
	char text[16];
	if (with_day)
		snprintf(text, sizeof(text), "%04lld-%02d-%02d", (long long)year, month, mday);
	else
		snprintf(text, sizeof(text), "%04lld-%02d", (long long)year, month);
	jw_kstr(w, key, text);
}

static void write_daily(struct jw *w, const struct report_day *d)
{
	const money_t *t = d->ledger_minor;
	jw_obj_begin(w);
	write_date(w, "date", d->day, true);
	jw_kmoney(w, "accrued", t[LEDGER_ACCRUAL] + t[LEDGER_REFUND_ACCRUAL]);
	jw_kmoney(w, "spent",
		  -(t[LEDGER_SPEND] + t[LEDGER_REFUND_SPEND] + t[LEDGER_HOLD] + t[LEDGER_RELEASE]));
	jw_kmoney(w, "expired", -t[LEDGER_EXPIRE]);
	jw_kint(w, "orders", d->sales);
	jw_kmoney(w, "amount", d->amount_minor);
	jw_obj_end(w);
}

/* public_url: the base of the top clients' cardURL. */
static void write_dashboard(struct jw *w, const struct report_query *q,
			    const struct report_dashboard *d, const char *public_url)
{
	int64_t orders = 0, program_orders = 0;
	money_t amount = 0, program_amount = 0;
	for (size_t i = 0; i < d->n_days; i++) {
		orders += d->days[i].sales;
		program_orders += d->days[i].program_sales;
		amount += d->days[i].amount_minor;
		program_amount += d->days[i].program_amount_minor;
	}
	jw_obj_begin(w);
	jw_kstr(w, "currency", currency_name(q->currency));
	jw_kint(w, "days", (int64_t)d->n_days);
	write_date(w, "from", q->first_day, true);
	write_date(w, "to", q->today, true);
	jw_kint(w, "members", d->members);
	jw_kint(w, "newMembersThisMonth", d->joined_this_month);
	jw_key(w, "sales");
	jw_obj_begin(w);
	jw_kmoney(w, "programAmount", program_amount);
	jw_kint(w, "programOrders", program_orders);
	jw_kmoney(w, "allAmount", amount);
	jw_kint(w, "allOrders", orders);
	jw_key(w, "programSharePercent");
	jw_fixed(w, percent_scaled(program_amount, amount), 2);
	jw_obj_end(w);
	jw_key(w, "repeatPurchaseRatePercent");
	jw_fixed(w, percent_scaled(d->repeat_buyers, d->buyers), 2);
	jw_kint(w, "buyers", d->buyers);
	jw_kint(w, "repeatBuyers", d->repeat_buyers);
	jw_kmoney(w, "averageCheck", orders > 0 ? fixed_mul_div_round(amount, 1, orders) : 0);
	jw_kmoney(w, "pointsOutstanding", d->outstanding_minor);
	/* A point pays one ruble of a check (API.md, "Reports"): the liability in rubles is the
	 * same. */
	jw_kmoney(w, "pointsOutstandingRub", d->outstanding_minor);
	jw_key(w, "expiring");
	jw_arr_begin(w);
	for (int m = 0; m < REPORT_MONTHS; m++) {
		jw_obj_begin(w);
		write_date(w, "month", q->month_first_day[m], false);
		jw_kmoney(w, "points", d->expiring_minor[m]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "daily");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->n_days; i++)
		write_daily(w, &d->days[i]);
	jw_arr_end(w);
	jw_key(w, "topClients");
	jw_arr_begin(w);
	for (size_t i = 0; i < d->n_top; i++)
		view_client(w, &d->top[i], public_url);
	jw_arr_end(w);
	jw_obj_end(w);
}

void reports_dashboard(struct call *c)
{
	int64_t days;
	if (!query_int(c, "days", REPORT_DAYS_DEFAULT, &days))
		return;
	if (days < 1 || days > REPORT_DAYS_MAX) {
		call_error(c, 400, "validation_failed", "days: must be an integer from 1 to %d",
			   REPORT_DAYS_MAX);
		return;
	}
	struct report_query q = {.now_ms = now_ms()};
	q.today = q.now_ms / DAY_MS;
	q.first_day = q.today - days + 1;
	for (int m = 0; m <= REPORT_MONTHS; m++)
		q.month_first_day[m] = month_first_day(q.today, m);
	struct report_dashboard *d = xcalloc(1, sizeof(*d));
	struct loyalty_settings s;
	enum store_rc rc = STORE(c->db, begin, STORE_TX_READ);
	if (rc == STORE_OK) {
		rc = STORE(c->db, settings_get, c->who.merchant_id, &s);
		q.currency = s.currency;
		if (rc == STORE_OK)
			rc = STORE(c->db, report_dashboard, c->who.merchant_id, &q, d);
		c->db->ops->rollback(c->db);
	}
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		free(d);
		return;
	}
	struct jw w;
	call_json(c, 200, &w);
	write_dashboard(&w, &q, d, c->app->cfg->public_url);
	report_clear(d);
	free(d);
}
