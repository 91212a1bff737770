/* The dashboard's reads (API.md, "Reports"), written once for both engines: sums over the slots and
 * days of the aggregate tables the triggers keep (store/report_sql.h), a few dozen to a few
 * thousand rows whatever the number of clients and orders; the one part of a day that a day's
 * row cannot split (the lots expiring later today) from lots_expiring's range of that day. */
#include "store/reports.h"
#include "store/sql.h"

#include <string.h>

#define DAY_MS 86400000LL

void report_clear(struct report_dashboard *d)
{
	for (size_t i = 0; i < d->n_top; i++)
		client_clear(&d->top[i]);
	d->n_top = 0;
}

/* One row of one or more int64 columns into out[0..n). */
static enum store_rc one_row(enum store_rc rc, struct sql_res *r, int64_t *out, int n)
{
	if (rc != STORE_OK)
		return rc;
	for (int i = 0; i < n; i++)
		out[i] = sql_int(r, i);
	sql_close(r);
	return STORE_OK;
}

/* The remaining of the merchant's lots whose expiry day is first..last (-1: never). */
static enum store_rc lots_days(struct store_conn *c, int64_t merchant_id,
			       const struct report_query *q, int64_t first, int64_t last,
			       money_t *out)
{
	struct sql_res r;
	return one_row(
	    sql_row(c, SQL_REPORT_LOTS, &r, "idii", merchant_id, (int)q->currency, first, last), &r,
	    out, 1);
}

/* The remaining of the merchant's lots that expire later today: not expired at now, expired
 * by tomorrow. */
static enum store_rc lots_later_today(struct store_conn *c, int64_t merchant_id,
				      const struct report_query *q, money_t *out)
{
	struct sql_res r;
	return one_row(sql_row(c, SQL_REPORT_LOTS_BETWEEN, &r, "idii", merchant_id,
			       (int)q->currency, q->now_ms, (q->today + 1) * DAY_MS),
		       &r, out, 1);
}

static enum store_rc read_days(struct store_conn *c, int64_t merchant_id,
			       const struct report_query *q, struct report_dashboard *out)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_query(c, SQL_REPORT_DAYS, &r, "iii", merchant_id, q->first_day, q->today);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		int64_t i = sql_int(&r, 0) - q->first_day;
		if (i < 0 || (size_t)i >= out->n_days)
			continue;
		struct report_day *d = &out->days[i];
		d->sales = sql_int(&r, 1);
		d->amount_minor = sql_int(&r, 2);
		d->program_sales = sql_int(&r, 3);
		d->program_amount_minor = sql_int(&r, 4);
	}
	rc = sql_end(&r);
	sql_close(&r);
	if (rc != STORE_OK)
		return rc;
	rc = sql_query(c, SQL_REPORT_LEDGER, &r, "idii", merchant_id, (int)q->currency,
		       q->first_day, q->today);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		int64_t i = sql_int(&r, 0) - q->first_day;
		int64_t type = sql_int(&r, 1);
		if (i < 0 || (size_t)i >= out->n_days || type < 0 || type >= LEDGER_TYPE_COUNT)
			continue;
		out->days[i].ledger_minor[type] = sql_int(&r, 2);
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

static enum store_rc read_top(struct store_conn *c, int64_t merchant_id,
			      struct report_dashboard *out)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_query(c, SQL_REPORT_TOP, &r, "ii", merchant_id, (int64_t)REPORT_TOP_MAX);
	if (rc != STORE_OK)
		return rc;
	while (out->n_top < REPORT_TOP_MAX && sql_next(&r))
		sql_read_client(&r, &out->top[out->n_top++]);
	if (out->n_top < REPORT_TOP_MAX)
		rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

/* The lots not expired at now less the debts, and what expires in each month of q. */
static enum store_rc read_lots(struct store_conn *c, int64_t merchant_id,
			       const struct report_query *q, struct report_dashboard *out)
{
	money_t never = 0, later_today = 0, after_today = 0, debt = 0;
	enum store_rc rc = lots_days(c, merchant_id, q, -1, -1, &never);
	if (rc == STORE_OK)
		rc = lots_later_today(c, merchant_id, q, &later_today);
	if (rc == STORE_OK)
		rc = lots_days(c, merchant_id, q, q->today + 1, INT64_MAX / DAY_MS, &after_today);
	struct sql_res r;
	if (rc == STORE_OK)
		rc = one_row(sql_row(c, SQL_REPORT_DEBT, &r, "id", merchant_id, (int)q->currency),
			     &r, &debt, 1);
	out->outstanding_minor = never + later_today + after_today - debt;
	for (int m = 0; m < REPORT_MONTHS && rc == STORE_OK; m++) {
		int64_t first = m == 0 ? q->today + 1 : q->month_first_day[m];
		money_t sum = 0;
		rc = lots_days(c, merchant_id, q, first, q->month_first_day[m + 1] - 1, &sum);
		out->expiring_minor[m] = sum + (m == 0 ? later_today : 0);
	}
	return rc;
}

enum store_rc store_report_dashboard(struct store_conn *c, int64_t merchant_id,
				     const struct report_query *q, struct report_dashboard *out)
{
	memset(out, 0, sizeof(*out));
	int64_t n_days = q->today - q->first_day + 1;
	if (n_days < 1 || n_days > REPORT_DAYS_MAX)
		return STORE_ERROR;
	out->n_days = (size_t)n_days;
	for (size_t i = 0; i < out->n_days; i++)
		out->days[i].day = q->first_day + (int64_t)i;
	struct sql_res r;
	int64_t totals[3] = {0};
	enum store_rc rc =
	    one_row(sql_row(c, SQL_REPORT_TOTALS, &r, "i", merchant_id), &r, totals, 3);
	out->members = totals[0];
	out->buyers = totals[1];
	out->repeat_buyers = totals[2];
	if (rc == STORE_OK)
		rc = one_row(sql_row(c, SQL_REPORT_JOINED, &r, "iii", merchant_id,
				     q->month_first_day[0], q->today),
			     &r, &out->joined_this_month, 1);
	if (rc == STORE_OK)
		rc = read_days(c, merchant_id, q, out);
	if (rc == STORE_OK)
		rc = read_lots(c, merchant_id, q, out);
	if (rc == STORE_OK)
		rc = read_top(c, merchant_id, out);
	if (rc != STORE_OK)
		report_clear(out);
	return rc;
}
