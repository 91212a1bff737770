/* The column map of each entity: the columns its statements (store/statements.h) select, in
 * the order its one row reader in store/sql_*.c (read_account, sql_read_client, ...) takes
 * them. A new column goes here, in both schemas' migrations and in that reader. */
#ifndef KOPILKA_STORE_COLUMNS_H
#define KOPILKA_STORE_COLUMNS_H

#define ACCOUNT_COLS                                                                               \
	"id, merchant_id, kind, role, email, phone, password_hash, first_name, last_name,"         \
	" cred_version, inn, staff_login, created_ms"

#define CLIENT_COLS                                                                                \
	"id, merchant_id, email, phone, name, avatar_url, token, paid_purchases, total_purchases," \
	" total_amount, paid_amount, positive_reviews, neutral_reviews, negative_reviews,"         \
	" created_ms, erased_ms, birthday, consent_version, consent_ms"

/* The columns after CLIENT_COLS a statement may add (the export's balance). */
#define CLIENT_NCOLS 19

#define ENROLMENT_COLS                                                                             \
	"id, merchant_id, token, code_hash, phone, name, email, birthday, consent_version, addr,"  \
	" attempts, expires_ms, created_ms, client_id"

#define WEBHOOK_COLS "id, merchant_id, url, secret, events, active, created_ms"

#define LOT_COLS "id, merchant_id, client_id, currency, remaining, original, expires_ms, order_id"

#define CATALOG_COLS                                                                               \
	"id, merchant_id, title, header, sub_header, short_description, long_description,"         \
	" image_path, style, valid_days, valid_until, deleted, created_ms"

#define INSTANCE_COLS                                                                              \
	"i.id, i.merchant_id, i.client_id, i.coupon_id, i.status, i.issued_ms, i.expires_ms,"      \
	" i.token, i.share_token, i.merchant_token, i.merchant_share_token, i.issued_order_id,"    \
	" i.redeemed_order_id, c.title, c.header, c.sub_header, c.short_description,"              \
	" c.long_description"

#define HOLD_COLS                                                                                  \
	"id, merchant_id, client_id, currency, amount, transaction_id, kind, status, created_ms,"  \
	" expires_ms, ended_ms, order_id, fiscal_order_id, created_by"

#define ORDER_COLS                                                                                 \
	"id, merchant_id, external_id, receipt_type, order_number, client_id, order_date_ms,"      \
	" external_date_ms, total, card, cash, spent_currency, spent, accrued_currency, accrued,"  \
	" refund_of, refunded_total, accrual_taken, spend_returned, paid_refunded,"                \
	" fully_refunded, fn, fd, comment, public_token, request_hash, response, created_by,"      \
	" reaction, customer_comment, fp"

#define IMPORT_COLS                                                                                \
	"id, merchant_id, sha256, status, total_rows, valid_rows, problems, result, created_ms,"   \
	" applied_ms, csv"

#endif
