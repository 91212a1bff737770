/* `kopilkad check`: the invariants of the ledger, the lots, the holds, the coupons and the
 * orders, and the dashboard's aggregates against the rows they sum (statements CHECK_* of
 * store/statements.h), written once for both engines; an
 * engine adds its own (SQLite: the phone trigram index and integrity_check) through its
 * driver's check_more. */
#include "store/check.h"
#include "store/sql.h"

enum store_rc store_check(struct store_conn *c, int64_t now, store_report_fn report, void *ctx,
			  int64_t *problems_out)
{
	(void)now;
	int64_t problems = 0;
	for (int id = SQL_CHECK_BALANCE_LEDGER; id <= SQL_CHECK_REPORT_LOTS; id++) {
		struct sql_res r;
		enum store_rc rc = sql_query(c, (enum sql_id)id, &r, "");
		if (rc != STORE_OK)
			return rc;
		while (sql_next(&r)) {
			const char *problem = c->sql->text(&r, 0);
			problems++;
			report(ctx, problem ? problem : "(a problem without a description)");
		}
		rc = sql_end(&r);
		sql_close(&r);
		if (rc != STORE_OK)
			return rc;
	}
	if (c->sql->check_more) {
		int64_t more = 0;
		enum store_rc rc = c->sql->check_more(c, report, ctx, &more);
		if (rc != STORE_OK)
			return rc;
		problems += more;
	}
	*problems_out = problems;
	return STORE_OK;
}
