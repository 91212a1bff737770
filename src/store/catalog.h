/* Storage operations of the coupon catalog, written once in store/sql_catalog.c over the
 * driver of store/sql.h. Conventions (merchant scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_CATALOG_H
#define KOPILKA_STORE_CATALOG_H

#include "store/store.h"

typedef bool (*catalog_row_fn)(void *ctx, const struct catalog_coupon *c);

/* Coupon catalog. */
enum store_rc store_catalog_create(struct store_conn *c, const struct catalog_coupon *cc,
				   int64_t *id_out) MUST_CHECK;
enum store_rc store_catalog_get(struct store_conn *c, int64_t merchant_id, int64_t id,
				struct catalog_coupon *out) MUST_CHECK;
enum store_rc store_catalog_list(struct store_conn *c, int64_t merchant_id, int64_t offset,
				 int64_t limit, catalog_row_fn row, void *ctx) MUST_CHECK;
/* Writes the texts, image path, style and validity of cc->id (of cc->merchant_id).
 * NOT_FOUND when it is not this merchant's. Issued instances keep their expiry. */
enum store_rc store_catalog_update(struct store_conn *c,
				   const struct catalog_coupon *cc) MUST_CHECK;
/* Marks a catalog coupon deleted (no new issues; issued ones live on). NOT_FOUND when
 * it is not this merchant's. */
enum store_rc store_catalog_delete(struct store_conn *c, int64_t merchant_id,
				   int64_t id) MUST_CHECK;

#endif
