/* Storage operations of customer imports, written once in store/sql_imports.c over the
 * driver of store/sql.h. Conventions (merchant scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_IMPORTS_H
#define KOPILKA_STORE_IMPORTS_H

#include "store/store.h"

/* A customer import (issue 14): one per merchant and file hash. */
enum import_status { IMPORT_PREVIEW = 0, IMPORT_APPLIED = 1 };
struct import_rec {
	int64_t id, merchant_id;
	char sha256[65]; /* of the file as uploaded, hex */
	enum import_status status;
	int64_t total_rows, valid_rows, problems;
	char *csv;    /* the file as UTF-8 text; owned (NULL when not read) */
	char *result; /* the apply's answer (JSON) once applied; owned, NULL before */
	int64_t created_by, created_ms, applied_ms;
};
void import_rec_clear(struct import_rec *r);

/* Customer imports. create: CONFLICT when the merchant has one of that hash. get: by id,
 * find: by hash, of the merchant (NOT_FOUND when none). update: status, counts, result
 * and applied_ms of r->id. */
enum store_rc store_import_create(struct store_conn *c, const struct import_rec *r,
				  int64_t *id_out) MUST_CHECK;
enum store_rc store_import_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct import_rec *out) MUST_CHECK;
enum store_rc store_import_find(struct store_conn *c, int64_t merchant_id, const char *sha256,
				struct import_rec *out) MUST_CHECK;
enum store_rc store_import_update(struct store_conn *c, const struct import_rec *r) MUST_CHECK;

#endif
