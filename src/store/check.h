/* Storage operations of the ledger invariants kopilkad check verifies, written once in
 * store/sql_check.c over the driver of store/sql.h. Conventions (merchant scoping, results,
 * transactions): store/store.h. */
#ifndef KOPILKA_STORE_CHECK_H
#define KOPILKA_STORE_CHECK_H

#include "store/store.h"

/* One broken invariant found by check. */
typedef void (*store_report_fn)(void *ctx, const char *problem);

/* Verifies the ledger invariants of API.md 3.1; reports each violation. *problems_out
 * counts them. */
enum store_rc store_check(struct store_conn *c, int64_t now, store_report_fn report, void *ctx,
			  int64_t *problems_out) MUST_CHECK;

#endif
