/* The dashboard's aggregates (API.md, "Reports") recomputed from the rows they sum, written once in
 * the SQL both engines speak: the migration that adds the aggregate tables fills them with
 * these, and `kopilkad check` compares the tables with them, so a trigger that missed a row
 * cannot go unnoticed.
 *
 * The tables (sqlite_schema.h migration 12, pg_schema.h migration 13), each kept by triggers
 * in the transaction that writes the rows it sums. Days are UTC days since the epoch (ms /
 * 86400000). A slot splits each figure over several rows that a read sums: on PostgreSQL the
 * writing connection's (its backend's pid modulo 64), so that concurrent money writes seldom
 * wait for one counter row (a slot by client met 16 connections on 16 slots all the time);
 * on SQLite, whose writers run one at a time, always 0. What a slot holds is no invariant (a
 * slot's count of buyers may be negative): check compares the sums over the slots.
 *   report_totals (merchant, slot): clients, clients with >= 1 and >= 2 purchases;
 *   report_days (merchant, day, slot): clients created; sale receipts; net amount of the
 *     receipts (sales' totals less refunds' totals); the same for receipts with a client;
 *   ledger_days (merchant, currency, day, type, slot): the sum of the ledger rows;
 *   lot_days (merchant, currency, expiry day or -1 for never, slot): the lots' remaining. */
#ifndef KOPILKA_STORE_REPORT_SQL_H
#define KOPILKA_STORE_REPORT_SQL_H

#define REPORT_DAY_SQL(ms) "(" ms " / 86400000)"
#define REPORT_LOT_DAY_SQL(ms) "coalesce(" ms " / 86400000, -1)"

/* clang-format off */
/* Each table's figures recomputed from the rows they sum, by key without the slot. */
#define REPORT_TOTALS_OF_ROWS                                                                      \
	"SELECT merchant_id, count(*) AS members,"                                                 \
	" sum(CASE WHEN total_purchases >= 1 THEN 1 ELSE 0 END) AS buyers,"                        \
	" sum(CASE WHEN total_purchases >= 2 THEN 1 ELSE 0 END) AS repeat_buyers"                  \
	" FROM clients GROUP BY merchant_id"

#define REPORT_DAYS_OF_ROWS                                                                        \
	"SELECT merchant_id, day, sum(joined) AS joined, sum(sales) AS sales,"                     \
	" sum(amount) AS amount, sum(program_sales) AS program_sales,"                             \
	" sum(program_amount) AS program_amount FROM ("                                            \
	"SELECT merchant_id, " REPORT_DAY_SQL("created_ms") " AS day, 1 AS joined, 0 AS sales,"   \
	" 0 AS amount, 0 AS program_sales, 0 AS program_amount FROM clients UNION ALL "            \
	"SELECT merchant_id, " REPORT_DAY_SQL("order_date_ms") ", 0,"                              \
	" CASE WHEN receipt_type = 0 THEN 1 ELSE 0 END,"                                           \
	" CASE WHEN receipt_type = 0 THEN total ELSE -total END,"                                  \
	" CASE WHEN receipt_type = 0 AND client_id IS NOT NULL THEN 1 ELSE 0 END,"                 \
	" CASE WHEN client_id IS NULL THEN 0 WHEN receipt_type = 0 THEN total ELSE -total END"     \
	" FROM orders) u GROUP BY merchant_id, day"

#define REPORT_LEDGER_OF_ROWS                                                                      \
	"SELECT merchant_id, currency, " REPORT_DAY_SQL("created_ms") " AS day, type,"             \
	" sum(amount) AS amount FROM ledger"                                                       \
	" GROUP BY merchant_id, currency, " REPORT_DAY_SQL("created_ms") ", type"

#define REPORT_LOTS_OF_ROWS                                                                        \
	"SELECT merchant_id, currency, " REPORT_LOT_DAY_SQL("expires_ms") " AS day,"               \
	" sum(remaining) AS remaining FROM lots"                                                   \
	" GROUP BY merchant_id, currency, " REPORT_LOT_DAY_SQL("expires_ms")

/* The tables summed over their slots, by the same keys. */
#define REPORT_TOTALS_OF_TABLE                                                                     \
	"SELECT merchant_id, sum(members) AS members, sum(buyers) AS buyers,"                      \
	" sum(repeat_buyers) AS repeat_buyers FROM report_totals GROUP BY merchant_id"
#define REPORT_DAYS_OF_TABLE                                                                       \
	"SELECT merchant_id, day, sum(joined) AS joined, sum(sales) AS sales,"                     \
	" sum(amount) AS amount, sum(program_sales) AS program_sales,"                             \
	" sum(program_amount) AS program_amount FROM report_days GROUP BY merchant_id, day"
#define REPORT_LEDGER_OF_TABLE                                                                     \
	"SELECT merchant_id, currency, day, type, sum(amount) AS amount FROM ledger_days"          \
	" GROUP BY merchant_id, currency, day, type"
#define REPORT_LOTS_OF_TABLE                                                                       \
	"SELECT merchant_id, currency, day, sum(remaining) AS remaining FROM lot_days"             \
	" GROUP BY merchant_id, currency, day"

/* The backfill of the migration that adds the tables (they are empty then), in slot 0. */
#define REPORT_BACKFILL                                                                            \
	"INSERT INTO report_totals(merchant_id, slot, members, buyers, repeat_buyers)"             \
	" SELECT merchant_id, 0, members, buyers, repeat_buyers FROM (" REPORT_TOTALS_OF_ROWS      \
	") r;"                                                                                     \
	"INSERT INTO report_days(merchant_id, day, slot, joined, sales, amount, program_sales,"    \
	" program_amount) SELECT merchant_id, day, 0, joined, sales, amount, program_sales,"       \
	" program_amount FROM (" REPORT_DAYS_OF_ROWS ") r;"                                        \
	"INSERT INTO ledger_days(merchant_id, currency, day, type, slot, amount)"                  \
	" SELECT merchant_id, currency, day, type, 0, amount FROM (" REPORT_LEDGER_OF_ROWS ") r;"  \
	"INSERT INTO lot_days(merchant_id, currency, day, slot, remaining)"                        \
	" SELECT merchant_id, currency, day, 0, remaining FROM (" REPORT_LOTS_OF_ROWS ") r;"

/* check: the keys where a table and its recomputation differ, both ways (a row of zeros
 * counts as no row). keys: the key columns; vals: the value columns; zero: vals all 0. */
#define REPORT_DIFF(of_table, of_rows, keys, vals, zero)                                          \
	"SELECT " keys " FROM (SELECT " keys ", " vals " FROM (" of_rows ") r WHERE NOT (" zero ")" \
	" EXCEPT SELECT " keys ", " vals " FROM (" of_table ") t WHERE NOT (" zero ")) d1"         \
	" UNION ALL SELECT " keys " FROM (SELECT " keys ", " vals " FROM (" of_table ") t"         \
	" WHERE NOT (" zero ") EXCEPT SELECT " keys ", " vals " FROM (" of_rows ") r"              \
	" WHERE NOT (" zero ")) d2"
/* clang-format on */

#endif
