/* The SQLite fixture of the unit tests (see store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/util.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store_fixture.h"

void store_fixture_open(struct store_fixture *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/kopilka-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/k.db", f->dir);
	struct store_options opt = {.synchronous = "normal",
				    .busy_timeout_ms = 1000,
				    .pool_size = 2,
				    .group_commit_max = 1,
				    .create = true};
	char err[256] = "";
	f->st = store_open(f->path, &opt, err, sizeof(err));
	if (!f->st)
		fail_msg("store_open: %s", err);
	f->c = f->st->ops->acquire(f->st);
	f->now = now_ms();
	assert_int_equal(STORE(f->c, begin, true), STORE_OK);
	assert_int_equal(STORE(f->c, merchant_create, "Cafe", f->now, &f->merchant_id), STORE_OK);
}

void store_fixture_close(struct store_fixture *f)
{
	f->c->ops->rollback(f->c);
	f->c->ops->release(f->c);
	f->st->ops->close(f->st);
	store_fixture_remove(f->dir, f->path);
}

void store_fixture_remove(const char *dir, const char *path)
{
	char p[128];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

int64_t store_fixture_client(struct store_fixture *f, const char *phone)
{
	struct client cl = {
	    .merchant_id = f->merchant_id, .phone = (char *)phone, .created_ms = f->now};
	snprintf(cl.token, sizeof(cl.token), "t%s", phone);
	int64_t id = 0;
	assert_int_equal(STORE(f->c, client_create, &cl, &id), STORE_OK);
	return id;
}
