/* The SQLite engine's client search and the check of its phone trigram table (sqlite_search.c);
 * private to the engine (sqlite.c), which owns the connections. */
#ifndef KOPILKA_STORE_SQLITE_SEARCH_H
#define KOPILKA_STORE_SQLITE_SEARCH_H

#include <sqlite3.h>

#include "store/check.h"
#include "store/store.h"

/* A connection's prepared search statements; NULL until its first search. */
struct sq_search;

/* client_search (store.h) on db, whose statements *cache keeps (made on first use); rows are
 * read through base's driver. */
enum store_rc sq_search_run(sqlite3 *db, struct sq_search **cache, struct store_conn *base,
			    int64_t merchant_id, const struct client_query *qr, client_row_fn row,
			    void *ctx) MUST_CHECK;

/* Finalizes a connection's search statements (NULL: nothing). */
void sq_search_free(struct sq_search *ss);

/* Reports each row of client_phone_trigrams that disagrees with the clients' phones, adding
 * them to *problems. */
enum store_rc sq_search_check(sqlite3 *db, store_report_fn report, void *ctx,
			      int64_t *problems) MUST_CHECK;

/* Maps an SQLite result code of db to the interface's, logging what is unexpected (sqlite.c). */
enum store_rc sqlite_map_rc(sqlite3 *db, int rc, const char *what);

#endif
