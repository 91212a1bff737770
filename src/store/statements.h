/* Every statement of the shared operations (store/sql_*.c), written once in PostgreSQL's
 * dialect with $N placeholders; the SQLite driver takes the same text (see store/sql.h for
 * what it adapts). A statement is named SQL_<NAME> where an operation runs it. */
#ifndef KOPILKA_STORE_STATEMENTS_H
#define KOPILKA_STORE_STATEMENTS_H

#include "store/columns.h"
#include "store/report_sql.h"

#define KEY_COLS "id, merchant_id, account_id, key_hash, created_ms, revoked_ms"

/* The client's live lots, soonest-expiring first (LOTS_SPENDABLE, BALANCE_LOTS). */
#define SPENDABLE_LOTS                                                                             \
	"SELECT " LOT_COLS " FROM lots WHERE client_id = $1 AND currency = $2 AND remaining > 0"   \
	" AND (expires_ms IS NULL OR expires_ms > $3) ORDER BY expires_ms ASC NULLS LAST, id"      \
	" LIMIT $4"

#define ITEM_COLS                                                                                  \
	"id, order_id, merchant_id, line_no, name, price, qty_milli, unit, vat, total,"            \
	" refunded_qty, refunded_total, refund_of_item, product_id"

/* lower() of ASCII letters only, as on SQLite, whatever the PostgreSQL database's locale. */
#define LOWER_ASCII(p) "lower(CAST(" p " AS TEXT) COLLATE \"C\")"

/* check's messages: a value as text; a balance row's currency by name. */
#define T(x) "CAST(" x " AS TEXT)"
#define CUR(t) "CASE " t ".currency WHEN 0 THEN 'points' ELSE 'rubles' END"

/* clang-format off */
#define SQL_STATEMENTS(X)                                                                          \
	/* merchants, accounts, keys, lockout counters (sql_accounts.c) */                          \
	X(MERCHANT_CREATE, "INSERT INTO merchants(name, created_ms, join_code) VALUES ($1, $2, $3)"\
			   " RETURNING id")                                                        \
	X(MERCHANT_JOIN_CODE, "SELECT join_code FROM merchants WHERE id = $1")                     \
	X(MERCHANT_BY_JOIN_CODE, "SELECT id FROM merchants WHERE join_code = $1")                  \
	X(ACCOUNT_CREATE, "INSERT INTO accounts(merchant_id, kind, role, email, email_lc, phone,"  \
			  " password_hash, first_name, last_name, created_ms, inn, staff_login)"   \
			  " VALUES ($1, $2, $3, $4, " LOWER_ASCII("$5") ", $6, $7, $8, $9, $10,"   \
			  " $11, $12) ON CONFLICT DO NOTHING RETURNING id")                        \
	X(ACCOUNT_FIND, "SELECT " ACCOUNT_COLS " FROM accounts"                                    \
			" WHERE (email_lc = $1 OR phone = $1) AND NOT deleted")                    \
	X(ACCOUNT_GET, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = $1 AND id = $2"  \
		       " AND kind = 1 AND NOT deleted")                                            \
	X(ACCOUNT_SELF, "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = $1 AND NOT deleted")     \
	X(EMPLOYEES_LIST, "SELECT " ACCOUNT_COLS " FROM accounts WHERE merchant_id = $1"           \
			  " AND kind = 1 AND NOT deleted ORDER BY id LIMIT $2 OFFSET $3")          \
	X(ACCOUNT_UPDATE, "UPDATE accounts SET email = $1, email_lc = " LOWER_ASCII("$2") ","      \
			  " phone = $3, first_name = $4, last_name = $5, inn = $6, role = $7,"     \
			  " password_hash = coalesce($8, password_hash),"                          \
			  " cred_version = cred_version + CASE WHEN CAST($9 AS TEXT) IS NULL"      \
			  " THEN 0 ELSE 1 END WHERE merchant_id = $10 AND id = $11 AND kind = 1"   \
			  " AND NOT deleted RETURNING id")                                         \
	X(ACCOUNT_DELETE, "UPDATE accounts SET deleted = true, email = NULL, email_lc = NULL,"     \
			  " phone = NULL, cred_version = cred_version + 1"                         \
			  " WHERE merchant_id = $1 AND id = $2 AND kind = 1 AND NOT deleted"       \
			  " RETURNING id")                                                         \
	X(KEYS_REVOKE_ACCOUNT, "UPDATE api_keys SET revoked_ms = $1 WHERE account_id = $2"         \
			       " AND revoked_ms IS NULL")                                          \
	X(KEY_CREATE, "INSERT INTO api_keys(merchant_id, account_id, key_hash, created_ms)"        \
		      " VALUES ($1, $2, $3, $4) RETURNING id")                                     \
	X(KEY_GET, "SELECT " KEY_COLS " FROM api_keys WHERE id = $1")                              \
	X(KEYS_LIST, "SELECT " KEY_COLS " FROM api_keys WHERE merchant_id = $1"                    \
		     " AND revoked_ms IS NULL ORDER BY id")                                        \
	X(KEY_REVOKE, "UPDATE api_keys SET revoked_ms = $1 WHERE merchant_id = $2 AND id = $3"     \
		      " AND revoked_ms IS NULL RETURNING id")                                      \
	X(AUTH_COUNTER_GET, "SELECT failures, window_start_ms, locked_until_ms FROM auth_counters"  \
			    " WHERE key = $1")                                                     \
	X(AUTH_COUNTER_PUT, "INSERT INTO auth_counters(key, failures, window_start_ms,"            \
			    " locked_until_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE"\
			    " SET failures = excluded.failures,"                                   \
			    " window_start_ms = excluded.window_start_ms,"                         \
			    " locked_until_ms = excluded.locked_until_ms")                         \
	/* the merchant cabinet's sessions (sql_accounts.c) */                                     \
	X(LK_SESSION_CREATE, "INSERT INTO lk_sessions(token_hash, account_id, merchant_id,"        \
			     " csrf_token, cred_version, role, created_ms, seen_ms)"               \
			     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"     \
			     " RETURNING 1")                                                       \
	X(LK_SESSION_GET, "SELECT s.account_id, s.merchant_id, s.csrf_token, s.cred_version,"      \
			  " s.role, s.created_ms, s.seen_ms, m.name FROM lk_sessions s"            \
			  " JOIN merchants m ON m.id = s.merchant_id WHERE s.token_hash = $1")     \
	X(LK_SESSION_TOUCH, "UPDATE lk_sessions SET seen_ms = $1 WHERE token_hash = $2"            \
			    " AND seen_ms < $1")                                                   \
	X(LK_SESSION_DELETE, "DELETE FROM lk_sessions WHERE token_hash = $1")                      \
	X(LK_SESSIONS_PURGE, "DELETE FROM lk_sessions WHERE seen_ms <= $1 OR created_ms <= $2")    \
	/* settings, sale points, documents, Idempotency-Key records (sql_merchant.c) */          \
	X(SETTINGS_GET, "SELECT active, currency, new_coupon_id, new_type, new_amount,"            \
			" new_valid_days, cust_coupon_id, cust_type, cust_amount, cust_valid_days," \
			" auto_register, max_spend_percent FROM merchants WHERE id = $1")          \
	X(SETTINGS_PUT, "UPDATE merchants SET active = $1, currency = $2, new_coupon_id = $3,"     \
			" new_type = $4, new_amount = $5, new_valid_days = $6,"                    \
			" cust_coupon_id = $7, cust_type = $8, cust_amount = $9,"                  \
			" cust_valid_days = $10, auto_register = $11, max_spend_percent = $12"     \
			" WHERE id = $13")                                                         \
	X(SP_LIST, "SELECT id, merchant_id, region, city, address, phone FROM sale_points"         \
		   " WHERE merchant_id = $1 ORDER BY id")                                          \
	X(SP_INSERT, "INSERT INTO sale_points(merchant_id, region, city, address, phone)"          \
		     " VALUES ($1, $2, $3, $4, $5) RETURNING id")                                  \
	X(SP_UPDATE, "UPDATE sale_points SET region = $1, city = $2, address = $3, phone = $4"     \
		     " WHERE merchant_id = $5 AND id = $6 RETURNING id")                           \
	X(SP_DELETE, "DELETE FROM sale_points WHERE merchant_id = $1 AND id = $2 RETURNING id")    \
	X(DOC_GET, "SELECT json FROM merchant_documents WHERE merchant_id = $1 AND name = $2")     \
	X(DOC_PUT, "INSERT INTO merchant_documents(merchant_id, name, json) VALUES ($1, $2, $3)"   \
		   " ON CONFLICT (merchant_id, name) DO UPDATE SET json = excluded.json")          \
	X(IDEM_GET, "SELECT request_hash, status, body, created_ms FROM idempotency"               \
		    " WHERE merchant_id = $1 AND scope = $2 AND key = $3 AND created_ms >= $4")    \
	X(IDEM_PUT, "INSERT INTO idempotency(merchant_id, scope, key, request_hash, status, body," \
		    " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"      \
		    " RETURNING 1")                                                                \
	X(IDEM_PURGE, "DELETE FROM idempotency WHERE created_ms < $1")                             \
	/* the coupon catalog (sql_catalog.c) */                                                   \
	X(CATALOG_CREATE, "INSERT INTO coupons(merchant_id, title, header, sub_header,"            \
			  " short_description, long_description, image_path, style, valid_days,"   \
			  " valid_until, deleted, created_ms)"                                     \
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"            \
			  " RETURNING id")                                                         \
	X(CATALOG_GET, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = $1 AND id = $2")  \
	X(CATALOG_UPDATE, "UPDATE coupons SET title = $1, header = $2, sub_header = $3,"           \
			  " short_description = $4, long_description = $5, image_path = $6,"       \
			  " style = $7, valid_days = $8, valid_until = $9 WHERE merchant_id = $10"  \
			  " AND id = $11 RETURNING id")                                            \
	X(CATALOG_DELETE, "UPDATE coupons SET deleted = true WHERE merchant_id = $1 AND id = $2"   \
			  " RETURNING id")                                                         \
	X(CATALOG_LIST, "SELECT " CATALOG_COLS " FROM coupons WHERE merchant_id = $1"              \
			" ORDER BY id LIMIT $2 OFFSET $3")                                         \
	/* clients and their ledger (sql_clients.c) */                                             \
	X(CLIENT_GET, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1 AND id = $2")    \
	X(CLIENT_FIND_PHONE, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND phone = $2")                             \
	X(CLIENT_FIND_EMAIL, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND email_lc = $2")                          \
	X(CLIENT_FIND_TOKEN, "SELECT " CLIENT_COLS " FROM clients"                                 \
			     " WHERE merchant_id = $1 AND token = $2")                             \
	X(CLIENT_BY_TOKEN, "SELECT " CLIENT_COLS " FROM clients WHERE token = $1")                 \
	X(CLIENT_CREATE, "INSERT INTO clients(merchant_id, email, email_lc, phone, name,"          \
			 " avatar_url, token, created_ms, birthday, consent_version, consent_ms)"  \
			 " VALUES ($1, $2, " LOWER_ASCII("$3") ", $4, $5, $6, $7, $8, $9, $10,"    \
			 " $11) ON CONFLICT DO NOTHING RETURNING id")                              \
	X(CLIENT_CONSENT, "UPDATE clients SET consent_version = $1, consent_ms = $2,"              \
			  " birthday = coalesce(birthday, $3), name = coalesce(name, $4)"          \
			  " WHERE merchant_id = $5 AND id = $6 RETURNING id")                      \
	/* the join page's pending enrolments (sql_clients.c) */                                   \
	X(ENROLMENT_CREATE, "INSERT INTO enrolments(merchant_id, token, code_hash, phone, name,"   \
			    " email, birthday, consent_version, addr, attempts, expires_ms,"       \
			    " created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11)"\
			    " RETURNING id")                                                       \
	X(ENROLMENT_GET, "SELECT " ENROLMENT_COLS " FROM enrolments WHERE token = $1")             \
	X(ENROLMENT_ATTEMPT, "UPDATE enrolments SET attempts = attempts + 1 WHERE id = $1"         \
			     " RETURNING id")                                                      \
	X(ENROLMENT_DONE, "UPDATE enrolments SET client_id = $1 WHERE id = $2 RETURNING id")       \
	X(ENROLMENTS_BY_PHONE, "SELECT count(*) FROM enrolments WHERE phone = $1"                  \
			       " AND created_ms > $2")                                             \
	X(ENROLMENTS_BY_ADDR, "SELECT count(*) FROM enrolments WHERE addr = $1"                    \
			      " AND created_ms > $2")                                              \
	X(ENROLMENTS_PURGE, "DELETE FROM enrolments WHERE created_ms <= $1")                       \
	X(CLIENT_UPDATE, "UPDATE clients SET email = $1, email_lc = " LOWER_ASCII("$2") ","        \
			 " phone = $3, name = $4, avatar_url = $5, birthday = $6"                 \
			 " WHERE merchant_id = $7 AND id = $8 RETURNING id")                                              \
	/* erasure (client_erase): the person's fields cleared, the token replaced by one no      \
	 * lookup takes (not 32 hex); their comments on orders, their coupons' tokens and codes,  \
	 * and the Idempotency-Key answers that show them (found by the old token) go with it.   \
	 * A new column of clients about the person (a birthday) is cleared here too. */          \
	X(CLIENT_ERASE, "UPDATE clients SET email = NULL, email_lc = NULL, phone = NULL,"         \
			" name = NULL, avatar_url = NULL, birthday = NULL, token = $1,"            \
			" erased_ms = $2"                                                          \
			" WHERE merchant_id = $3 AND id = $4 AND erased_ms IS NULL RETURNING id")  \
	X(CLIENT_ERASE_COMMENTS, "UPDATE orders SET customer_comment = NULL"                       \
				 " WHERE merchant_id = $1 AND client_id = $2")                     \
	X(CLIENT_ERASE_CODES, "DELETE FROM coupon_codes WHERE merchant_id = $1 AND instance_id IN" \
			      " (SELECT id FROM coupon_instances WHERE client_id = $2)")           \
	X(CLIENT_ERASE_COUPONS, "UPDATE coupon_instances SET"                                      \
				" status = CASE WHEN status = 0 THEN 2 ELSE status END,"           \
				" token = 'erased-' || " T("id") ","                               \
				" share_token = 'erased-share-' || " T("id") ","                   \
				" merchant_token = '', merchant_share_token = ''"                  \
				" WHERE merchant_id = $1 AND client_id = $2")                      \
	X(CLIENT_ERASE_IDEM, "DELETE FROM idempotency WHERE merchant_id = $1"                      \
			     " AND body LIKE '%' || $2 || '%'")                                    \
	/* The devices its Wallet pass was registered on (their push tokens) and its queued pass  \
	 * updates: the pass is gone with the token it was authenticated by. */                    \
	X(CLIENT_ERASE_PASSES, "DELETE FROM pass_registrations WHERE merchant_id = $1"             \
			       " AND client_id = $2")                                              \
	/* Its enrolments on the join page (phone, name, email, birthday, address). */          \
	X(CLIENT_ERASE_ENROLMENTS, "DELETE FROM enrolments WHERE merchant_id = $1"                 \
				   " AND client_id = $2")                                          \
	X(CLIENT_ERASE_CARD_UPDATES, "DELETE FROM card_updates WHERE merchant_id = $1"             \
				     " AND client_id = $2")                                        \
	X(CLIENT_COUPONS_ALL, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"    \
			      " ON c.id = i.coupon_id WHERE i.merchant_id = $1"                    \
			      " AND i.client_id = $2 ORDER BY i.id")                               \
	X(CLIENT_HOLDS, "SELECT " HOLD_COLS " FROM holds WHERE merchant_id = $1"                   \
			" AND client_id = $2 ORDER BY id")                                         \
	X(CLIENT_EVENTS, "SELECT id, public_id, type, created_ms, data FROM webhook_events"        \
			 " WHERE merchant_id = $1 AND client_id = $2 ORDER BY id")                 \
	X(EVENT_SET_DATA, "UPDATE webhook_events SET data = $1 WHERE id = $2")                     \
	X(LEDGER_LIST, "SELECT id, merchant_id, client_id, currency, amount, type, order_id,"      \
		       " hold_id, created_ms, reason FROM ledger WHERE client_id = $1"             \
		       " AND created_ms >= $2 AND created_ms <= $3"                                \
		       " ORDER BY created_ms DESC, id DESC LIMIT $4 OFFSET $5")                    \
	/* balances, lots, ledger rows, takes, purchase statistics (sql_ledger.c) */               \
	X(CLIENT_STATS, "UPDATE clients SET total_purchases = total_purchases + $1,"               \
			" paid_purchases = paid_purchases + $2, total_amount = total_amount + $3," \
			" paid_amount = paid_amount + $4 WHERE id = $5")                           \
	X(BALANCE_GET, "SELECT balance, debt, held FROM balances"                                  \
		       " WHERE client_id = $1 AND currency = $2")                                  \
	X(BALANCE_ADD, "INSERT INTO balances AS b(merchant_id, client_id, currency, balance,"      \
		       " debt, held) VALUES ($1, $2, $3, $4, $5, $6)"                              \
		       " ON CONFLICT (client_id, currency) DO UPDATE"                              \
		       " SET balance = b.balance + excluded.balance,"                              \
		       " debt = b.debt + excluded.debt, held = b.held + excluded.held")            \
	X(LOTS_SUM, "SELECT coalesce(sum(remaining), 0) FROM lots WHERE client_id = $1"            \
		    " AND currency = $2 AND remaining > 0"                                         \
		    " AND (expires_ms IS NULL OR expires_ms > $3)")                                \
	X(LOTS_SPENDABLE, SPENDABLE_LOTS)                                                          \
	/* LOTS_SPENDABLE with the balance's row beside (one round trip for both): a row per lot \
	 * (LOT_COLS, then balance, debt, held), or one with the lot's columns NULL. */           \
	X(BALANCE_LOTS, "SELECT l.*, b.balance, b.debt, b.held FROM (SELECT 1 AS one) AS k"        \
			" LEFT JOIN balances b ON b.client_id = $1 AND b.currency = $2"            \
			" LEFT JOIN (" SPENDABLE_LOTS ") AS l ON true"                             \
			" ORDER BY l.expires_ms ASC NULLS LAST, l.id")                             \
	X(LOT_GET, "SELECT " LOT_COLS " FROM lots WHERE id = $1")                                  \
	X(LOT_CREATE, "INSERT INTO lots(merchant_id, client_id, currency, remaining, original,"    \
		      " expires_ms, order_id, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)" \
		      " RETURNING id")                                                             \
	X(LOT_ADD, "UPDATE lots SET remaining = remaining + $1 WHERE id = $2")                     \
	X(LOTS_EXPIRED, "SELECT " LOT_COLS " FROM lots WHERE remaining > 0"                        \
			" AND expires_ms <= $1 ORDER BY expires_ms, id LIMIT $2")                  \
	X(LEDGER_ADD, "INSERT INTO ledger(merchant_id, client_id, currency, amount, type,"         \
		      " order_id, hold_id, created_ms, reason)"                                    \
		      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")                              \
	X(TAKE_ADD, "INSERT INTO lot_takes(order_id, lot_id, taken, returned)"                     \
		    " VALUES ($1, $2, $3, $4)")                                                    \
	X(TAKES_GET, "SELECT t.order_id, t.lot_id, t.taken, t.returned, l.expires_ms"              \
		     " FROM lot_takes t JOIN lots l ON l.id = t.lot_id WHERE t.order_id = $1"      \
		     " ORDER BY l.expires_ms DESC NULLS FIRST, l.id DESC LIMIT $2")                \
	X(TAKE_RETURNED, "UPDATE lot_takes SET returned = $1 WHERE order_id = $2"                  \
			 " AND lot_id = $3")                                                       \
	X(HOLD_TAKE_ADD, "INSERT INTO hold_takes(hold_id, lot_id, taken) VALUES ($1, $2, $3)")      \
	/* orders and items (sql_orders.c) */                                                      \
	X(ORDER_CREATE, "INSERT INTO orders(merchant_id, external_id, receipt_type, order_number," \
			" client_id, order_date_ms, external_date_ms, total, card, cash,"          \
			" spent_currency, spent, accrued_currency, accrued, refund_of, fn, fd,"    \
			" comment, public_token, request_hash, response, created_by, refund_key,"  \
			" fp, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13," \
			" $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)"             \
			" ON CONFLICT DO NOTHING RETURNING id")                                    \
	X(ORDER_RESPONSE, "UPDATE orders SET response = $1 WHERE id = $2")                         \
	X(ITEM_CREATE, "INSERT INTO order_items(order_id, merchant_id, line_no, name, price,"      \
		       " qty_milli, unit, vat, total, refund_of_item, product_id)"                 \
		       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id")      \
	X(ORDER_FIND_EXT, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1"               \
			  " AND external_id = $2 AND receipt_type = $3 AND refund_key = $4")       \
	X(ORDER_GET, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1 AND id = $2")       \
	X(ORDER_BY_TOKEN, "SELECT " ORDER_COLS " FROM orders WHERE public_token = $1")             \
	X(ORDER_PROGRESS, "UPDATE orders SET refunded_total = $1, accrual_taken = $2,"             \
			  " spend_returned = $3, paid_refunded = $4, fully_refunded = $5"          \
			  " WHERE id = $6")                                                        \
	/* Every condition but the merchant and the dates is optional: NULL (receipt type: -1)    \
	 * matches any. */                                                                         \
	X(ORDERS_LIST, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1"                  \
		       " AND order_date_ms >= $2 AND order_date_ms <= $3"                          \
		       " AND (CAST($4 AS BIGINT) IS NULL OR client_id = $4)"                       \
		       " AND ($5 < 0 OR receipt_type = $5)"                                        \
		       " AND (CAST($6 AS BIGINT) IS NULL OR created_by = $6)"                      \
		       " AND (CAST($7 AS TEXT) IS NULL OR fn LIKE $7 ESCAPE '\\')"                \
		       " AND (CAST($8 AS TEXT) IS NULL OR fd LIKE $8 ESCAPE '\\')"                \
		       " ORDER BY order_date_ms DESC, id DESC LIMIT $9 OFFSET $10")                \
	X(ORDER_ITEMS, "SELECT " ITEM_COLS " FROM order_items"                                     \
		       " WHERE merchant_id = $1 AND order_id = $2 ORDER BY line_no")               \
	X(ITEM_GET, "SELECT " ITEM_COLS " FROM order_items WHERE merchant_id = $1 AND id = $2")    \
	X(ITEM_REFUNDED, "UPDATE order_items SET refunded_qty = $1, refunded_total = $2"           \
			 " WHERE id = $3")                                                         \
	X(ORDER_REACTION, "UPDATE orders SET reaction = $1, customer_comment = $2 WHERE id = $3")  \
	X(CLIENT_REVIEWS, "UPDATE clients SET positive_reviews = positive_reviews + $1,"           \
			  " neutral_reviews = neutral_reviews + $2,"                               \
			  " negative_reviews = negative_reviews + $3 WHERE id = $4")               \
	/* holds (sql_holds.c) */                                                                  \
	X(HOLD_CREATE, "INSERT INTO holds(merchant_id, client_id, currency, amount,"               \
		       " transaction_id, kind, status, created_ms, expires_ms, ended_ms, order_id," \
		       " fiscal_order_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9," \
		       " $10, $11, $12, $13) ON CONFLICT DO NOTHING RETURNING id")                 \
	X(HOLD_GET, "SELECT " HOLD_COLS " FROM holds WHERE merchant_id = $1"                       \
		    " AND transaction_id = $2")                                                    \
	X(HOLD_UPDATE, "UPDATE holds SET status = $1, ended_ms = $2, order_id = $3,"               \
		       " fiscal_order_id = $4 WHERE id = $5")                                      \
	X(HOLDS_EXPIRED_CLIENT, "SELECT " HOLD_COLS " FROM holds WHERE client_id = $1"             \
				" AND status = 0 AND expires_ms <= $2 ORDER BY expires_ms, id"     \
				" LIMIT $3")                                                       \
	X(HOLDS_EXPIRED_ALL, "SELECT " HOLD_COLS " FROM holds WHERE status = 0"                    \
			     " AND expires_ms <= $1 ORDER BY expires_ms, id LIMIT $2")             \
	X(HOLDS_EXPIRED_SUM, "SELECT coalesce(sum(t.taken), 0) FROM holds h"                       \
			     " JOIN hold_takes t ON t.hold_id = h.id JOIN lots l ON l.id = t.lot_id" \
			     " WHERE h.client_id = $1 AND h.currency = $2 AND h.status = 0"        \
			     " AND h.expires_ms <= $3"                                             \
			     " AND (l.expires_ms IS NULL OR l.expires_ms > $3)")                   \
	X(HOLD_TAKES_GET, "SELECT t.hold_id, t.lot_id, t.taken, l.expires_ms FROM hold_takes t"    \
			  " JOIN lots l ON l.id = t.lot_id WHERE t.hold_id = $1 ORDER BY t.lot_id" \
			  " LIMIT $2")                                                             \
	/* check: one row per broken invariant, a text naming it (sql_check.c) */                 \
	X(CHECK_BALANCE_LEDGER, "SELECT 'client ' || " T("b.client_id") " || ' ' || " CUR("b")     \
				" || ': balance ' || " T("b.balance") " || ' but ledger rows sum to '" \
				" || " T("(SELECT coalesce(sum(amount), 0) FROM ledger l"          \
				 " WHERE l.client_id = b.client_id AND l.currency = b.currency)")  \
				" FROM balances b WHERE b.balance <> (SELECT coalesce(sum(amount), 0)" \
				" FROM ledger l WHERE l.client_id = b.client_id"                   \
				" AND l.currency = b.currency)")                                   \
	X(CHECK_BALANCE_LOTS, "SELECT 'client ' || " T("b.client_id") " || ' ' || " CUR("b")       \
			      " || ': balance ' || " T("b.balance") " || ' but lots sum to ' || "  \
			      T("(SELECT coalesce(sum(remaining), 0) FROM lots l"                  \
				" WHERE l.client_id = b.client_id AND l.currency = b.currency)")   \
			      " || ' less debt ' || " T("b.debt")                                  \
			      " FROM balances b WHERE b.balance <> (SELECT coalesce(sum(remaining),"\
			      " 0) FROM lots l WHERE l.client_id = b.client_id"                    \
			      " AND l.currency = b.currency) - b.debt")                            \
	X(CHECK_LEDGER_UNBALANCED, "SELECT 'client ' || " T("l.client_id") " || ' ' || " CUR("l")  \
				   " || ': ledger rows without a balance' FROM ledger l"           \
				   " WHERE NOT EXISTS (SELECT 1 FROM balances b"                   \
				   " WHERE b.client_id = l.client_id AND b.currency = l.currency)" \
				   " GROUP BY l.client_id, l.currency")                            \
	X(CHECK_LOT_RANGE, "SELECT 'lot ' || " T("id") " || ': remaining ' || " T("remaining")     \
			   " || ' outside 0..' || " T("original") " FROM lots"                     \
			   " WHERE remaining < 0 OR remaining > original")                         \
	X(CHECK_NEGATIVE, "SELECT 'client ' || " T("client_id") " || ': negative debt ' || "       \
			  T("debt") " || ' or hold ' || " T("held")                                \
			  " FROM balances WHERE debt < 0 OR held < 0")                             \
	X(CHECK_COUPON_REDEEMED, "SELECT 'coupon ' || " T("i.id") " || ': redeemed without an"     \
				 " order or a written-off hold of its merchant'"                   \
				 " FROM coupon_instances i WHERE i.status = 1 AND NOT EXISTS"      \
				 " (SELECT 1 FROM orders o WHERE o.id = i.redeemed_order_id"       \
				 " AND o.merchant_id = i.merchant_id) AND NOT EXISTS"              \
				 " (SELECT 1 FROM holds h WHERE h.id = i.hold_id"                  \
				 " AND h.merchant_id = i.merchant_id AND h.status = 1)")           \
	X(CHECK_COUPON_HELD, "SELECT 'coupon ' || " T("i.id") " || ': held without an active hold" \
			     " of its client' FROM coupon_instances i WHERE i.status = 3"          \
			     " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.id = i.hold_id"       \
			     " AND h.client_id = i.client_id AND h.status = 0)")                   \
	X(CHECK_HELD_SUM, "SELECT 'client ' || " T("b.client_id") " || ' ' || " CUR("b")           \
			  " || ': held ' || " T("b.held") " || ' but active holds sum to ' || "    \
			  T("(SELECT coalesce(sum(amount), 0) FROM holds h"                        \
			    " WHERE h.client_id = b.client_id AND h.currency = b.currency"         \
			    " AND h.status = 0)")                                                  \
			  " FROM balances b WHERE b.held <> (SELECT coalesce(sum(amount), 0)"      \
			  " FROM holds h WHERE h.client_id = b.client_id"                          \
			  " AND h.currency = b.currency AND h.status = 0)")                        \
	X(CHECK_HOLD_TAKES, "SELECT 'hold ' || " T("h.id") " || ': took ' || "                     \
			    T("(SELECT coalesce(sum(taken), 0) FROM hold_takes t"                  \
			      " WHERE t.hold_id = h.id)")                                          \
			    " || ' from lots for an amount of ' || " T("h.amount")                 \
			    " FROM holds h WHERE h.status IN (0, 1) AND h.amount <>"               \
			    " (SELECT coalesce(sum(taken), 0) FROM hold_takes t"                   \
			    " WHERE t.hold_id = h.id)")                                            \
	X(CHECK_TAKE_RETURNED, "SELECT 'lot take of order ' || " T("order_id") " || ' from lot ' || " \
			       T("lot_id") " || ': returned ' || " T("returned")                   \
			       " || ' outside 0..' || " T("taken")                                 \
			       " FROM lot_takes WHERE returned < 0 OR returned > taken")           \
	/* adjust (7) and opening (8) rows carry a reason; an opening row only adds. */           \
	X(CHECK_LEDGER_TYPE, "SELECT 'ledger row ' || " T("id") " || ': type ' || " T("type")      \
			     " || ' with amount ' || " T("amount") " || ' and no reason or an'"    \
			     " || ' amount its type does not allow' FROM ledger"                   \
			     " WHERE type < 0 OR type > 8 OR (type IN (7, 8) AND (reason IS NULL"  \
			     " OR reason = '')) OR (type = 7 AND amount = 0)"                      \
			     " OR (type = 8 AND amount <= 0)")                                     \
	X(CHECK_ORDER_REFUNDED, "SELECT 'order ' || " T("id") " || ': refunded more than it had ('" \
				" || " T("refunded_total") " || ' of ' || " T("total") " || ')'"   \
				" FROM orders WHERE refunded_total > total"                        \
				" OR accrual_taken > accrued OR spend_returned > spent")           \
	X(CHECK_REPORT_TOTALS, "SELECT 'report_totals of merchant ' || " T("merchant_id")          \
			       " || ': differs from the clients'"     \
			       " FROM (" REPORT_DIFF(REPORT_TOTALS_OF_TABLE, REPORT_TOTALS_OF_ROWS,  \
			       "merchant_id", "members, buyers, repeat_buyers",                    \
			       "members = 0 AND buyers = 0 AND repeat_buyers = 0") ") x")          \
	X(CHECK_REPORT_DAYS, "SELECT 'report_days of merchant ' || " T("merchant_id")              \
			     " || ' day ' || " T("day") " || ': differs from the clients and orders'" \
			     " FROM (" REPORT_DIFF(REPORT_DAYS_OF_TABLE, REPORT_DAYS_OF_ROWS,      \
			     "merchant_id, day",                                                   \
			     "joined, sales, amount, program_sales, program_amount",               \
			     "joined = 0 AND sales = 0 AND amount = 0 AND program_sales = 0"       \
			     " AND program_amount = 0") ") x")                                     \
	X(CHECK_REPORT_LEDGER, "SELECT 'ledger_days of merchant ' || " T("merchant_id")            \
			       " || ' day ' || " T("day") " || ' type ' || " T("type")             \
			       " || ': differs from the ledger rows'"                              \
			       " FROM (" REPORT_DIFF(REPORT_LEDGER_OF_TABLE, REPORT_LEDGER_OF_ROWS,  \
			       "merchant_id, currency, day, type", "amount", "amount = 0")         \
			       ") x")                                                              \
	X(CHECK_REPORT_LOTS, "SELECT 'lot_days of merchant ' || " T("merchant_id")                 \
			     " || ' expiry day ' || " T("day") " || ': differs from the lots'"     \
			     " FROM (" REPORT_DIFF(REPORT_LOTS_OF_TABLE, REPORT_LOTS_OF_ROWS,      \
			     "merchant_id, currency, day", "remaining", "remaining = 0")           \
			     ") x")                                                                \
	/* the dashboard (sql_reports.c): sums over the aggregate tables' slots */                 \
	X(REPORT_TOTALS, "SELECT coalesce(sum(members), 0), coalesce(sum(buyers), 0),"             \
			 " coalesce(sum(repeat_buyers), 0) FROM report_totals WHERE merchant_id = $1") \
	X(REPORT_JOINED, "SELECT coalesce(sum(joined), 0) FROM report_days WHERE merchant_id = $1" \
			 " AND day >= $2 AND day <= $3")                                           \
	X(REPORT_DAYS, "SELECT day, sum(sales), sum(amount), sum(program_sales),"                  \
		       " sum(program_amount) FROM report_days WHERE merchant_id = $1"              \
		       " AND day >= $2 AND day <= $3 GROUP BY day")                                \
	X(REPORT_LEDGER, "SELECT day, type, sum(amount) FROM ledger_days WHERE merchant_id = $1"   \
			 " AND currency = $2 AND day >= $3 AND day <= $4 GROUP BY day, type")      \
	X(REPORT_LOTS, "SELECT coalesce(sum(remaining), 0) FROM lot_days WHERE merchant_id = $1"   \
		       " AND currency = $2 AND day >= $3 AND day <= $4")                           \
	/* The lots of one day that expire in (after, before): lots_expiring's range. */           \
	X(REPORT_LOTS_BETWEEN, "SELECT coalesce(sum(remaining), 0) FROM lots WHERE remaining > 0"  \
			       " AND expires_ms > $3 AND expires_ms < $4 AND merchant_id = $1"     \
			       " AND currency = $2")                                               \
	X(REPORT_DEBT, "SELECT coalesce(sum(debt), 0) FROM balances WHERE merchant_id = $1"        \
		       " AND currency = $2 AND debt > 0")                                          \
	X(REPORT_TOP, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = $1"                 \
		      " AND total_purchases > 0 ORDER BY paid_amount DESC, id LIMIT $2")           \
	/* coupon instances and their codes (sql_coupons.c) */                                     \
	X(COUPON_ISSUE, "INSERT INTO coupon_instances(merchant_id, client_id, coupon_id, status,"  \
			" issued_ms, expires_ms, token, share_token, merchant_token,"              \
			" merchant_share_token, issued_order_id, redeemed_order_id)"               \
			" VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $9, $10, NULL)"               \
			" ON CONFLICT DO NOTHING RETURNING id")                                    \
	X(CODE_CLAIM, "INSERT INTO coupon_codes(merchant_id, code, instance_id)"                   \
		      " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING instance_id")         \
	X(CODES_FREE, "DELETE FROM coupon_codes WHERE instance_id = $1")                           \
	X(COUPON_OWNER, "SELECT merchant_id, merchant_token, merchant_share_token"                 \
			" FROM coupon_instances WHERE id = $1")                                    \
	X(COUPON_BY_TOKEN, "SELECT id FROM coupon_instances WHERE merchant_id = $1 AND token = $2") \
	X(COUPON_BY_SHARE, "SELECT id FROM coupon_instances WHERE merchant_id = $1"                \
			   " AND share_token = $2")                                                \
	X(COUPON_BY_CODE, "SELECT instance_id FROM coupon_codes WHERE merchant_id = $1"            \
			  " AND code = $2")                                                        \
	X(COUPON_GET, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"            \
		      " ON c.id = i.coupon_id WHERE i.merchant_id = $1 AND i.id = $2")             \
	X(COUPONS_USABLE, "SELECT " INSTANCE_COLS " FROM coupon_instances i JOIN coupons c"        \
			  " ON c.id = i.coupon_id WHERE i.merchant_id = $1 AND i.client_id = $2"   \
			  " AND i.status = 0 AND (i.expires_ms IS NULL OR i.expires_ms >= $3)"     \
			  " ORDER BY i.id")                                                        \
	X(COUPON_STATUS, "UPDATE coupon_instances SET status = $1, redeemed_order_id = $2"         \
			 " WHERE id = $3")                                                         \
	X(COUPON_CODES_SET, "UPDATE coupon_instances SET merchant_token = $1,"                     \
			    " merchant_share_token = $2 WHERE id = $3")                            \
	X(COUPONS_REDEEMED_BY, "SELECT id FROM coupon_instances WHERE redeemed_order_id = $1"      \
			       " ORDER BY id LIMIT $2")                                            \
	X(COUPONS_ISSUED_BY, "SELECT id FROM coupon_instances WHERE issued_order_id = $1"          \
			     " ORDER BY id LIMIT $2")                                              \
	X(COUPON_SET_HOLD, "UPDATE coupon_instances SET hold_id = $1 WHERE id = $2")               \
	X(COUPONS_OF_HOLD, "SELECT id FROM coupon_instances WHERE hold_id = $1 ORDER BY id"        \
			   " LIMIT $2")                                                            \
	X(COUPON_SHARE_MARK, "UPDATE coupon_instances SET shared_client_id = $1,"                  \
			     " shared_instance_id = $2, shared_ms = $3 WHERE id = $4"              \
			     " AND shared_client_id IS NULL RETURNING id")                         \
	X(COUPON_SHARE_GET, "SELECT ci.shared_client_id, ci.shared_instance_id,"                   \
			    " (SELECT o.id FROM coupon_instances o WHERE o.shared_instance_id = ci.id" \
			    " LIMIT 1) FROM coupon_instances ci WHERE ci.id = $1")                 \
	/* customer imports and the CSV exports, paged by id (sql_imports.c) */                    \
	X(IMPORT_CREATE, "INSERT INTO imports(merchant_id, sha256, status, total_rows,"            \
			 " valid_rows, problems, csv, result, created_by, created_ms)"             \
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"                       \
			 " ON CONFLICT DO NOTHING RETURNING id")                                   \
	X(IMPORT_GET, "SELECT " IMPORT_COLS " FROM imports WHERE merchant_id = $1 AND id = $2")    \
	X(IMPORT_FIND, "SELECT " IMPORT_COLS " FROM imports WHERE merchant_id = $1"                \
		       " AND sha256 = $2")                                                         \
	X(IMPORT_UPDATE, "UPDATE imports SET status = $1, total_rows = $2, valid_rows = $3,"       \
			 " problems = $4, result = $5, applied_ms = $6 WHERE merchant_id = $7"     \
			 " AND id = $8 RETURNING id")                                              \
	X(CLIENTS_EXPORT, "SELECT " CLIENT_COLS ", coalesce((SELECT b.balance FROM balances b"     \
			  " WHERE b.client_id = clients.id AND b.currency = $2), 0) FROM clients"  \
			  " WHERE merchant_id = $1 AND id > $3 ORDER BY id LIMIT $4")              \
	X(ORDERS_EXPORT, "SELECT " ORDER_COLS " FROM orders WHERE merchant_id = $1 AND id > $2"    \
			 " ORDER BY id LIMIT $3")                                                  \
	/* webhooks: endpoints, the outbox, deliveries and their attempts (sql_webhooks.c) */     \
	X(WEBHOOK_CREATE, "INSERT INTO webhook_endpoints(merchant_id, url, secret, events, active," \
			  " created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")             \
	X(WEBHOOK_GET, "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE merchant_id = $1"     \
		       " AND id = $2")                                                             \
	X(WEBHOOKS_LIST, "SELECT " WEBHOOK_COLS " FROM webhook_endpoints WHERE merchant_id = $1"   \
			 " ORDER BY id")                                                           \
	X(WEBHOOK_UPDATE, "UPDATE webhook_endpoints SET url = $1, secret = $2, events = $3,"       \
			  " active = $4 WHERE merchant_id = $5 AND id = $6 RETURNING id")          \
	X(WEBHOOK_DELETE, "DELETE FROM webhook_endpoints WHERE merchant_id = $1 AND id = $2"       \
			  " RETURNING id")                                                         \
	X(WEBHOOK_ATTEMPTS_DROP, "DELETE FROM webhook_attempts WHERE delivery_id IN"               \
				 " (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)")    \
	X(WEBHOOK_DELIVERIES_DROP, "DELETE FROM webhook_deliveries WHERE endpoint_id = $1")        \
	X(WEBHOOK_MASKS, "SELECT events FROM webhook_endpoints WHERE merchant_id = $1 AND active")  \
	X(EVENT_CREATE, "INSERT INTO webhook_events(public_id, merchant_id, type, client_id,"      \
			" created_ms, data) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")         \
	X(EVENT_FAN_OUT, "INSERT INTO webhook_deliveries(event_id, endpoint_id, merchant_id,"      \
			 " client_id, next_ms, first_ms, created_ms) SELECT $1, id, merchant_id,"  \
			 " $2, $3, $3, $3 FROM webhook_endpoints WHERE merchant_id = $4 AND active" \
			 " AND (events & $5) <> 0")                                                \
	X(EVENT_FIND, "SELECT id FROM webhook_events WHERE merchant_id = $1 AND public_id = $2")    \
	X(EVENT_REDELIVER, "UPDATE webhook_deliveries SET status = 0, next_ms = $1, first_ms = $1,"\
			   " lease_until = 0, lease_token = NULL WHERE merchant_id = $2"           \
			   " AND event_id = $3")                                                   \
	/* A delivery is due when its time came, no other node holds its lease, and no earlier  \
	 * event of the same client waits for the same endpoint (order per client). */          \
	X(WEBHOOK_CLAIM, "UPDATE webhook_deliveries SET lease_until = $1, lease_token = $2"        \
			 " WHERE id IN (SELECT d.id FROM webhook_deliveries d WHERE d.status = 0"  \
			 " AND d.next_ms <= $3 AND d.lease_until <= $3 AND NOT EXISTS (SELECT 1"   \
			 " FROM webhook_deliveries e WHERE e.status = 0"                           \
			 " AND e.endpoint_id = d.endpoint_id AND e.client_id = d.client_id"        \
			 " AND e.event_id < d.event_id) ORDER BY d.next_ms, d.id LIMIT $4)"        \
			 " AND status = 0 AND lease_until <= $3")                                  \
	X(WEBHOOK_JOBS, "SELECT d.id, d.attempts, d.first_ms, ep.url, ep.secret, ev.public_id,"    \
			" ev.type, ev.created_ms, ev.data FROM webhook_deliveries d"               \
			" JOIN webhook_endpoints ep ON ep.id = d.endpoint_id"                      \
			" JOIN webhook_events ev ON ev.id = d.event_id"                            \
			" WHERE d.lease_token = $1 AND d.status = 0 ORDER BY d.id")                \
	X(WEBHOOK_RECORD, "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1,"    \
			  " next_ms = $2, last_status = $3, last_error = $4, lease_until = 0,"     \
			  " lease_token = NULL WHERE id = $5 AND lease_token = $6 RETURNING id")   \
	/* The attempt of a lost lease (redelivered meanwhile) still counts; the state is not its. */\
	X(WEBHOOK_ATTEMPT_COUNT, "UPDATE webhook_deliveries SET attempts = attempts + 1"           \
				 " WHERE id = $1")                                                 \
	X(WEBHOOK_ATTEMPT_ADD, "INSERT INTO webhook_attempts(delivery_id, at_ms, http_status,"     \
			       " error, latency_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id")     \
	X(WEBHOOK_DELIVERIES, "SELECT d.id, ev.public_id, ev.type, d.status, d.attempts,"          \
			      " d.next_ms, d.last_status, d.last_error, d.created_ms"              \
			      " FROM webhook_deliveries d JOIN webhook_events ev"                  \
			      " ON ev.id = d.event_id WHERE d.merchant_id = $1"                    \
			      " AND d.endpoint_id = $2 ORDER BY d.id DESC LIMIT $3 OFFSET $4")     \
	X(WEBHOOK_ATTEMPTS, "SELECT at_ms, http_status, error, latency_ms FROM webhook_attempts"   \
			    " WHERE delivery_id = $1 ORDER BY id DESC LIMIT $2")                   \
	X(LOTS_EXPIRING, "SELECT " LOT_COLS " FROM lots WHERE remaining > 0 AND expires_ms > $1"   \
			 " AND expires_ms <= $2 AND merchant_id IN (SELECT merchant_id"            \
			 " FROM webhook_endpoints WHERE active AND (events & $3) <> 0)"            \
			 " AND NOT EXISTS (SELECT 1 FROM webhook_lot_notices n"                    \
			 " WHERE n.lot_id = lots.id) ORDER BY expires_ms, id LIMIT $4")            \
	X(LOT_NOTICE_ADD, "INSERT INTO webhook_lot_notices(lot_id, created_ms) VALUES ($1, $2)"    \
			  " ON CONFLICT DO NOTHING RETURNING lot_id") \
	/* Apple Wallet pass updates: device registrations and the card_updates queue           \
	 * (sql_wallet.c). */                                                                    \
	X(PASS_REG_UPDATE, "UPDATE pass_registrations SET push_token = $1 WHERE device_id = $2"    \
			   " AND pass_type_id = $3 AND client_id = $4")                            \
	X(PASS_REG_INSERT, "INSERT INTO pass_registrations(device_id, pass_type_id, merchant_id,"  \
			   " client_id, push_token, created_ms) VALUES ($1, $2, $3, $4, $5, $6)"   \
			   " ON CONFLICT DO NOTHING")                                              \
	X(PASS_REG_DELETE, "DELETE FROM pass_registrations WHERE device_id = $1"                   \
			   " AND pass_type_id = $2 AND client_id = $3")                            \
	X(PASS_REG_DROP, "DELETE FROM pass_registrations WHERE client_id = $1 AND device_id = $2"  \
			 " AND push_token = $3")                                                   \
	X(PASS_SERIALS, "SELECT r.merchant_id, r.client_id, COALESCE(u.updated_ms, 0)"             \
			" FROM pass_registrations r LEFT JOIN card_updates u"                      \
			" ON u.client_id = r.client_id WHERE r.device_id = $1"                     \
			" AND r.pass_type_id = $2 AND COALESCE(u.updated_ms, 0) > $3"              \
			" ORDER BY r.client_id")                                                   \
	X(PASS_DEVICES, "SELECT device_id, push_token, pass_type_id FROM pass_registrations"       \
			" WHERE client_id = $1 ORDER BY device_id, pass_type_id")                  \
	X(CARD_UPDATE_TAG, "SELECT updated_ms FROM card_updates WHERE client_id = $1")             \
	/* Queues the client's update when a device is registered for its pass: one row per     \
	 * client (a second change before the push coalesces into it), due now, its lease       \
	 * dropped (a push in flight may not have read the change). The tag moves to a later     \
	 * whole second than it had, so Last-Modified (in seconds) tells every change apart. */  \
	X(CARD_UPDATE_NOTE, "INSERT INTO card_updates(client_id, merchant_id, updated_ms, pending,"\
			    " next_ms, first_ms) SELECT $1, $2, $3, 1, $3, $3 WHERE EXISTS"        \
			    " (SELECT 1 FROM pass_registrations WHERE client_id = $1)"             \
			    " ON CONFLICT (client_id) DO UPDATE SET updated_ms = CASE WHEN"        \
			    " excluded.updated_ms >= (card_updates.updated_ms / 1000 + 1) * 1000"  \
			    " THEN excluded.updated_ms ELSE (card_updates.updated_ms / 1000 + 1)"  \
			    " * 1000 END, first_ms = CASE WHEN card_updates.pending = 1 THEN"      \
			    " card_updates.first_ms ELSE excluded.first_ms END, pending = 1,"      \
			    " next_ms = excluded.next_ms, attempts = CASE WHEN"                    \
			    " card_updates.pending = 1 THEN card_updates.attempts ELSE 0 END,"     \
			    " lease_until = 0, lease_token = NULL")                                \
	X(CARD_UPDATES_CLAIM, "UPDATE card_updates SET lease_until = $1, lease_token = $2"         \
			      " WHERE client_id IN (SELECT client_id FROM card_updates"            \
			      " WHERE pending = 1 AND next_ms <= $3 AND lease_until <= $3"         \
			      " ORDER BY next_ms, client_id LIMIT $4) AND pending = 1"             \
			      " AND lease_until <= $3")                                            \
	X(CARD_UPDATES_JOBS, "SELECT client_id, merchant_id, updated_ms, attempts, first_ms"       \
			     " FROM card_updates WHERE lease_token = $1 AND pending = 1"           \
			     " ORDER BY client_id")                                                \
	X(CARD_UPDATE_DONE, "UPDATE card_updates SET pending = 0, attempts = 0, lease_until = 0,"  \
			    " lease_token = NULL WHERE client_id = $1 AND lease_token = $2")       \
	X(CARD_UPDATE_RETRY, "UPDATE card_updates SET attempts = attempts + 1, next_ms = $1,"      \
			     " lease_until = 0, lease_token = NULL WHERE client_id = $2"           \
			     " AND lease_token = $3")

/* clang-format on */
#define SQL_ENUM(name, sql) SQL_##name,
enum sql_id { SQL_STATEMENTS(SQL_ENUM) SQL__COUNT };
#undef SQL_ENUM

/* The text and the name (for logs) of each statement. */
extern const char *const sql_text[SQL__COUNT];
extern const char *const sql_name[SQL__COUNT];

#endif
