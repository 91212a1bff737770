/* Storage operations of a merchant's settings, settings documents, sale points and Idempotency-Key
 * records, written once in store/sql_merchant.c over the driver of store/sql.h. Conventions
 * (merchant scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_MERCHANT_H
#define KOPILKA_STORE_MERCHANT_H

#include "store/store.h"

/* A stored answer to an Idempotency-Key (API.md 6). */
struct idem_record {
	char request_hash[65];
	int status;
	char *body; /* owned */
	int64_t created_ms;
};
typedef bool (*sale_point_row_fn)(void *ctx, const struct sale_point *sp);

enum store_rc store_settings_get(struct store_conn *c, int64_t merchant_id,
				 struct loyalty_settings *out) MUST_CHECK;
/* The settings store_settings_get will read next in this transaction, sent ahead to travel
 * with the statement that waits next (sql_read_ahead). */
enum store_rc store_settings_ahead(struct store_conn *c, int64_t merchant_id) MUST_CHECK;
enum store_rc store_settings_put(struct store_conn *c, int64_t merchant_id,
				 const struct loyalty_settings *s) MUST_CHECK;
/* Small settings documents of a merchant (the write-off rules, the contact info), stored
 * as validated JSON text by name. get: NOT_FOUND when never written; *json_out is the
 * caller's to free. put: insert or replace. */
enum store_rc store_document_get(struct store_conn *c, int64_t merchant_id, const char *name,
				 char **json_out) MUST_CHECK;
enum store_rc store_document_put(struct store_conn *c, int64_t merchant_id, const char *name,
				 const char *json) MUST_CHECK;
/* Idempotency-Key records, scoped by merchant, "METHOD route" and key. get: NOT_FOUND
 * when none newer than not_before_ms; put: CONFLICT when one exists. */
enum store_rc store_idem_get(struct store_conn *c, int64_t merchant_id, const char *scope,
			     const char *key, int64_t not_before_ms,
			     struct idem_record *out) MUST_CHECK;
enum store_rc store_idem_put(struct store_conn *c, int64_t merchant_id, const char *scope,
			     const char *key, const struct idem_record *in) MUST_CHECK;
/* Deletes records created before before_ms; *n_out: how many. */
enum store_rc store_idem_purge(struct store_conn *c, int64_t before_ms, int64_t *n_out) MUST_CHECK;
/* Sale points by id. save: id 0 inserts (*id_out set), else updates (NOT_FOUND when not
 * the merchant's). */
enum store_rc store_sale_points_list(struct store_conn *c, int64_t merchant_id,
				     sale_point_row_fn row, void *ctx) MUST_CHECK;
enum store_rc store_sale_point_save(struct store_conn *c, const struct sale_point *sp,
				    int64_t *id_out) MUST_CHECK;
enum store_rc store_sale_point_delete(struct store_conn *c, int64_t merchant_id,
				      int64_t id) MUST_CHECK;

#endif
