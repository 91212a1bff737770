/* Clients and their ledger: the operations of store.h written once for both engines over the
 * SQL driver (store/sql.h). The search (client_search) stays in each engine: its SQL is built
 * per pattern shape and SQLite's uses its own trigram table; it reads rows with
 * sql_read_client like everything here. */
#include "store/sql.h"

#include "core/util.h"
#include "store/clients.h"
#include "store/columns.h"

void sql_read_client(const struct sql_res *r, struct client *out)
{
	out->id = sql_int(r, 0);
	out->merchant_id = sql_int(r, 1);
	out->email = sql_str(r, 2);
	out->phone = sql_str(r, 3);
	out->name = sql_str(r, 4);
	out->avatar_url = sql_str(r, 5);
	sql_copy(r, 6, out->token, sizeof(out->token));
	out->paid_purchases = sql_int(r, 7);
	out->total_purchases = sql_int(r, 8);
	out->total_amount_minor = sql_int(r, 9);
	out->paid_amount_minor = sql_int(r, 10);
	out->positive_reviews = sql_int(r, 11);
	out->neutral_reviews = sql_int(r, 12);
	out->negative_reviews = sql_int(r, 13);
	out->created_ms = sql_int(r, 14);
	out->erased_ms = sql_int(r, 15);
	out->birthday = sql_str(r, 16);
	out->consent_version = sql_str(r, 17);
	out->consent_ms = sql_null(r, 18) ? 0 : sql_int(r, 18);
}

/* The one client a statement run by sql_row found. */
static enum store_rc client_one(enum store_rc rc, struct sql_res *r, struct client *out)
{
	if (rc != STORE_OK)
		return rc;
	sql_read_client(r, out);
	sql_close(r);
	return STORE_OK;
}

enum store_rc store_client_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct client *out)
{
	struct sql_res r;
	return client_one(sql_row(c, SQL_CLIENT_GET, &r, "ii", merchant_id, id), &r, out);
}

enum store_rc store_client_find_phone(struct store_conn *c, int64_t merchant_id, const char *phone,
				      struct client *out)
{
	struct sql_res r;
	return client_one(sql_row(c, SQL_CLIENT_FIND_PHONE, &r, "is", merchant_id, phone), &r, out);
}

enum store_rc store_client_find_email(struct store_conn *c, int64_t merchant_id,
				      const char *email_lc, struct client *out)
{
	struct sql_res r;
	return client_one(sql_row(c, SQL_CLIENT_FIND_EMAIL, &r, "is", merchant_id, email_lc), &r,
			  out);
}

enum store_rc store_client_find_token(struct store_conn *c, int64_t merchant_id, const char *token,
				      struct client *out)
{
	struct sql_res r;
	return client_one(sql_row(c, SQL_CLIENT_FIND_TOKEN, &r, "is", merchant_id, token), &r, out);
}

enum store_rc store_client_by_token(struct store_conn *c, const char *token, struct client *out)
{
	struct sql_res r;
	return client_one(sql_row(c, SQL_CLIENT_BY_TOKEN, &r, "s", token), &r, out);
}

enum store_rc store_client_create(struct store_conn *c, const struct client *cl, int64_t *id_out)
{
	return sql_insert(c, SQL_CLIENT_CREATE, id_out, "issssssissz", cl->merchant_id, cl->email,
			  cl->email, cl->phone, cl->name, cl->avatar_url, cl->token, cl->created_ms,
			  cl->birthday, cl->consent_version, cl->consent_ms);
}

enum store_rc store_client_consent(struct store_conn *c, int64_t merchant_id, int64_t id,
				   const char *version, int64_t consent_ms, const char *birthday,
				   const char *name)
{
	return sql_touch(c, SQL_CLIENT_CONSENT, "sissii", version, consent_ms, birthday, name,
			 merchant_id, id);
}

/* ---- the join page's pending enrolments ---- */

enum store_rc store_enrolment_create(struct store_conn *c, const struct enrolment *e,
				     int64_t *id_out)
{
	return sql_insert(c, SQL_ENROLMENT_CREATE, id_out, "issssssssii", e->merchant_id, e->token,
			  e->code_hash, e->phone, e->name, e->email, e->birthday,
			  e->consent_version, e->addr, e->expires_ms, e->created_ms);
}

enum store_rc store_enrolment_get(struct store_conn *c, const char *token, struct enrolment *out)
{
	struct sql_res r;
	enum store_rc rc = sql_row(c, SQL_ENROLMENT_GET, &r, "s", token);
	if (rc != STORE_OK)
		return rc;
	out->id = sql_int(&r, 0);
	out->merchant_id = sql_int(&r, 1);
	sql_copy(&r, 2, out->token, sizeof(out->token));
	sql_copy(&r, 3, out->code_hash, sizeof(out->code_hash));
	out->phone = sql_str(&r, 4);
	out->name = sql_str(&r, 5);
	out->email = sql_str(&r, 6);
	out->birthday = sql_str(&r, 7);
	out->consent_version = sql_str(&r, 8);
	out->addr = sql_str(&r, 9);
	out->attempts = sql_int(&r, 10);
	out->expires_ms = sql_int(&r, 11);
	out->created_ms = sql_int(&r, 12);
	out->client_id = sql_null(&r, 13) ? 0 : sql_int(&r, 13);
	sql_close(&r);
	return STORE_OK;
}

enum store_rc store_enrolment_attempt(struct store_conn *c, int64_t id)
{
	return sql_touch(c, SQL_ENROLMENT_ATTEMPT, "i", id);
}

enum store_rc store_enrolment_done(struct store_conn *c, int64_t id, int64_t client_id)
{
	return sql_touch(c, SQL_ENROLMENT_DONE, "ii", client_id, id);
}

/* The count a SELECT count(*) statement answers. */
static enum store_rc count_of(enum store_rc rc, struct sql_res *r, int64_t *out)
{
	if (rc != STORE_OK)
		return rc;
	*out = sql_int(r, 0);
	sql_close(r);
	return STORE_OK;
}

enum store_rc store_enrolments_count(struct store_conn *c, const char *phone, const char *addr,
				     int64_t since_ms, int64_t *by_phone, int64_t *by_addr)
{
	struct sql_res r;
	enum store_rc rc =
	    count_of(sql_row(c, SQL_ENROLMENTS_BY_PHONE, &r, "si", phone, since_ms), &r, by_phone);
	if (rc == STORE_OK)
		rc = count_of(sql_row(c, SQL_ENROLMENTS_BY_ADDR, &r, "si", addr, since_ms), &r,
			      by_addr);
	return rc;
}

enum store_rc store_enrolments_purge(struct store_conn *c, int64_t before_ms)
{
	return sql_exec(c, SQL_ENROLMENTS_PURGE, NULL, "i", before_ms);
}

enum store_rc store_client_update(struct store_conn *c, const struct client *cl)
{
	return sql_touch(c, SQL_CLIENT_UPDATE, "ssssssii", cl->email, cl->email, cl->phone,
			 cl->name, cl->avatar_url, cl->birthday, cl->merchant_id, cl->id);
}

enum store_rc store_client_erase(struct store_conn *c, int64_t merchant_id, int64_t id,
				 const char *old_token, const char *erased_token, int64_t now)
{
	enum store_rc rc = sql_sp_begin(c);
	if (rc != STORE_OK)
		return rc;
	rc = sql_touch(c, SQL_CLIENT_ERASE, "siii", erased_token, now, merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_COMMENTS, NULL, "ii", merchant_id, id);
	/* The codes first: they are found through the instances' client. */
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_CODES, NULL, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_COUPONS, NULL, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_IDEM, NULL, "is", merchant_id, old_token);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_PASSES, NULL, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_CARD_UPDATES, NULL, "ii", merchant_id, id);
	if (rc == STORE_OK)
		rc = sql_exec(c, SQL_CLIENT_ERASE_ENROLMENTS, NULL, "ii", merchant_id, id);
	return sql_sp_end(c, rc);
}

enum store_rc store_ledger_list(struct store_conn *c, int64_t client_id, int64_t from, int64_t to,
				int64_t offset, int64_t limit, ledger_row_fn row, void *ctx)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_query(c, SQL_LEDGER_LIST, &r, "iiiii", client_id, from, to, limit, offset);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct ledger_entry e = {.id = sql_int(&r, 0),
					 .merchant_id = sql_int(&r, 1),
					 .client_id = sql_int(&r, 2),
					 .currency = sql_int(&r, 3) == 1 ? CUR_RUBLES : CUR_POINTS,
					 .amount_minor = sql_int(&r, 4),
					 .type = (enum ledger_type)sql_int(&r, 5),
					 .order_id = sql_int(&r, 6),
					 .hold_id = sql_int(&r, 7),
					 .created_ms = sql_int(&r, 8),
					 .reason = c->sql->text(&r, 9)};
		if (!row(ctx, &e))
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}

enum store_rc store_clients_export(struct store_conn *c, int64_t merchant_id, enum currency cur,
				   int64_t after_id, int64_t limit, client_balance_row_fn row,
				   void *ctx)
{
	struct sql_res r;
	enum store_rc rc =
	    sql_query(c, SQL_CLIENTS_EXPORT, &r, "idii", merchant_id, (int)cur, after_id, limit);
	if (rc != STORE_OK)
		return rc;
	while (sql_next(&r)) {
		struct client cl = {0};
		sql_read_client(&r, &cl);
		bool more = row(ctx, &cl, sql_int(&r, CLIENT_NCOLS));
		client_clear(&cl);
		if (!more)
			break;
	}
	rc = sql_end(&r);
	sql_close(&r);
	return rc;
}
