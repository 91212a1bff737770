/* Storage operations of the dashboard, written once in store/sql_reports.c over the
 * driver of store/sql.h. Conventions (merchant scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_REPORTS_H
#define KOPILKA_STORE_REPORTS_H

#include "store/store.h"

/* The dashboard (API.md, "Reports"), read from the aggregate tables (store/report_sql.h). Days are
 * UTC days since the epoch. */
#define REPORT_DAYS_MAX 366
#define REPORT_TOP_MAX 10
#define REPORT_MONTHS 3
#define LEDGER_TYPE_COUNT 8

struct report_query {
	enum currency currency; /* the ledger's figures are of this currency */
	int64_t now_ms, today;	/* today: the day of now_ms */
	int64_t first_day;	/* the window: first_day..today, at most REPORT_DAYS_MAX days */
	/* The first days of this month and of the REPORT_MONTHS after it. */
	int64_t month_first_day[REPORT_MONTHS + 1];
};

struct report_day {
	int64_t day;
	int64_t sales, program_sales;		    /* sale receipts, those with a client */
	money_t amount_minor, program_amount_minor; /* sales' totals less refunds' totals */
	money_t ledger_minor[LEDGER_TYPE_COUNT];    /* the ledger rows' sum by enum ledger_type */
};

struct report_dashboard {
	int64_t members, joined_this_month;
	int64_t buyers, repeat_buyers;		 /* clients with >= 1 and >= 2 purchases */
	struct report_day days[REPORT_DAYS_MAX]; /* first_day..today, in order, every day */
	size_t n_days;
	/* The lots not expired at now less the clients' debts, and what of those lots expires in
	 * the rest of this month and in each of the next two. */
	money_t outstanding_minor;
	money_t expiring_minor[REPORT_MONTHS];
	struct client top[REPORT_TOP_MAX]; /* by paid amount, then id; owned (report_clear) */
	size_t n_top;
};
void report_clear(struct report_dashboard *d);

/* The merchant's dashboard for q into *out (zeroed first; report_clear it after OK).
 * Run it inside one read transaction, so that every figure is of one moment. */
enum store_rc store_report_dashboard(struct store_conn *c, int64_t merchant_id,
				     const struct report_query *q,
				     struct report_dashboard *out) MUST_CHECK;

#endif
