/* A real SQLite database in a fresh temporary directory, for the unit tests of the storage
 * operations and the service workflows: one connection with a write transaction open on it
 * and one merchant made. Closing rolls the transaction back and removes the files. */
#ifndef KOPILKA_TESTS_STORE_FIXTURE_H
#define KOPILKA_TESTS_STORE_FIXTURE_H

#include <stdint.h>

#include "store/store.h"

struct store_fixture {
	char dir[64], path[96];
	struct store *st;
	struct store_conn *c;
	int64_t merchant_id;
	int64_t now;
};

/* Opens it (fails the test on any error). */
void store_fixture_open(struct store_fixture *f);
void store_fixture_close(struct store_fixture *f);

/* Removes the database at path (with its -wal and -shm) and its directory dir. */
void store_fixture_remove(const char *dir, const char *path);

/* A client of the fixture's merchant with this phone: its id. */
int64_t store_fixture_client(struct store_fixture *f, const char *phone);

#endif
