/* The SQLite engine of the storage interface (store.h): WAL, one connection per borrower,
 * statements prepared once per connection, writes under BEGIN IMMEDIATE. */
#ifndef KOPILKA_STORE_SQLITE_H
#define KOPILKA_STORE_SQLITE_H

#include "store/store.h"

/* Opens (or with opt->create, creates) the SQLite database at path and migrates it. */
struct store *sqlite_store_open(const char *path, const struct store_options *opt, char *err_buf,
				size_t err_len);
/* The process-wide SQLite settings (memory statistics off, the page cache budget, the VFS):
 * once, before the first other SQLite call of the process. sqlite_store_open calls it;
 * anything else that opens SQLite first must too (store/backup.c). */
void sqlite_store_init(void);
/* The schema version this kopilkad migrates SQLite databases to. */
int sqlite_store_schema_latest(void);

#endif
