/* The PostgreSQL engine of the storage interface (store.h): libpq, a bounded pool of
 * connections, statements prepared once per connection, writes serialized like SQLite's
 * BEGIN IMMEDIATE. Chosen by store_open for postgres:// and postgresql:// URIs. */
#ifndef KOPILKA_STORE_PG_H
#define KOPILKA_STORE_PG_H

#include "store/store.h"

/* Connects opt->pool_size connections (at least one) to the database named by uri (a libpq
 * connection URI; the database itself must exist) and migrates its schema to the current
 * version. Without opt->create a database that has no kopilka schema yet is refused. On
 * failure writes a reason to err_buf (never the URI's password) and returns NULL; the caller
 * owns the result and frees it with ops->close. */
struct store *pg_store_open(const char *uri, const struct store_options *opt, char *err_buf,
			    size_t err_len);

#endif
