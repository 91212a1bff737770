/* Storage operations of clients, self-enrolment, the client's ledger, erasure and the clients
 * export, written once in store/sql_clients.c over the driver of store/sql.h. Conventions (merchant
 * scoping, results, transactions): store/store.h. */
#ifndef KOPILKA_STORE_CLIENTS_H
#define KOPILKA_STORE_CLIENTS_H

#include "store/store.h"

typedef bool (*ledger_row_fn)(void *ctx, const struct ledger_entry *e);
/* A client and its balance in one currency (the export). */
typedef bool (*client_balance_row_fn)(void *ctx, const struct client *c, money_t balance_minor);

/* Self-enrolment (the join page): records the consent (the text's version and when) on
 * a client, with birthday and name where it holds none (NULL: nothing given); NOT_FOUND
 * when the client is not the merchant's. */
enum store_rc store_client_consent(struct store_conn *c, int64_t merchant_id, int64_t id,
				   const char *version, int64_t consent_ms, const char *birthday,
				   const char *name) MUST_CHECK;
/* The pending enrolments: create (id_out may be NULL); get by token (owned:
 * enrolment_clear; NOT_FOUND: none); attempt: one more wrong code; done: confirmed,
 * with the client it made or found; count: those created after since_ms with this phone
 * and from this address (the rate limits); purge: those created at or before before_ms. */
enum store_rc store_enrolment_create(struct store_conn *c, const struct enrolment *e,
				     int64_t *id_out) MUST_CHECK;
enum store_rc store_enrolment_get(struct store_conn *c, const char *token,
				  struct enrolment *out) MUST_CHECK;
enum store_rc store_enrolment_attempt(struct store_conn *c, int64_t id) MUST_CHECK;
enum store_rc store_enrolment_done(struct store_conn *c, int64_t id, int64_t client_id) MUST_CHECK;
enum store_rc store_enrolments_count(struct store_conn *c, const char *phone, const char *addr,
				     int64_t since_ms, int64_t *by_phone,
				     int64_t *by_addr) MUST_CHECK;
enum store_rc store_enrolments_purge(struct store_conn *c, int64_t before_ms) MUST_CHECK;
/* Clients. Phone is digits; email lookups take the lower-cased email. */
enum store_rc store_client_get(struct store_conn *c, int64_t merchant_id, int64_t id,
			       struct client *out) MUST_CHECK;
enum store_rc store_client_find_phone(struct store_conn *c, int64_t merchant_id, const char *phone,
				      struct client *out) MUST_CHECK;
enum store_rc store_client_find_email(struct store_conn *c, int64_t merchant_id,
				      const char *email_lc, struct client *out) MUST_CHECK;
enum store_rc store_client_find_token(struct store_conn *c, int64_t merchant_id, const char *token,
				      struct client *out) MUST_CHECK;
/* A client by its token, whatever its merchant (tokens are unique across merchants: the
 * public card page /c/{token}). */
enum store_rc store_client_by_token(struct store_conn *c, const char *token,
				    struct client *out) MUST_CHECK;
/* CONFLICT when phone, email or token is taken within the merchant. */
enum store_rc store_client_create(struct store_conn *c, const struct client *cl,
				  int64_t *id_out) MUST_CHECK;
/* Writes email, phone, name, avatar and birthday of cl->id (of cl->merchant_id). CONFLICT
 * when the phone or email is another client's; NOT_FOUND when there is no such client. */
enum store_rc store_client_update(struct store_conn *c, const struct client *cl) MUST_CHECK;
/* A client's ledger rows with from <= created_ms <= to, newest first (then by id). */
enum store_rc store_ledger_list(struct store_conn *c, int64_t client_id, int64_t from, int64_t to,
				int64_t offset, int64_t limit, ledger_row_fn row,
				void *ctx) MUST_CHECK;
/* Erases the personal data of a client of the merchant (POST /clients/{id}/erase/), all
 * or nothing (a savepoint): email, phone, name and avatar cleared, the token replaced by
 * erased_token (never 32 hex, so no lookup by token finds it), erased_ms = now; the
 * customer comments of its orders cleared; its coupon instances' tokens replaced and
 * their 6-digit codes freed, those still usable revoked; the merchant's Idempotency-Key
 * answers that contain old_token deleted. Orders, items, lots, ledger rows and holds are
 * left as they are. NOT_FOUND when there is no such client or it is erased already. */
enum store_rc store_client_erase(struct store_conn *c, int64_t merchant_id, int64_t id,
				 const char *old_token, const char *erased_token,
				 int64_t now) MUST_CHECK;
/* The exports, paged by id: at most limit of the merchant's clients (with their balance
 * in cur) or orders whose id is above after_id, by id. */
enum store_rc store_clients_export(struct store_conn *c, int64_t merchant_id, enum currency cur,
				   int64_t after_id, int64_t limit, client_balance_row_fn row,
				   void *ctx) MUST_CHECK;

#endif
