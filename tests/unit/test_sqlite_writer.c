/* Unit tests of the SQLite engine's writer thread (store's run_write, sqlite_writer.c): jobs
 * from many threads all commit and are durable when run_write returns, a job that rolls back
 * leaves nothing and still returns, a commit refused inside a group undoes only its own job,
 * and writes that take the writer mutex themselves (begin outside a job) mix with the jobs.
 * Run on a real database file with --sqlite-synchronous full (the sync thread's path); not on
 * store_fixture's, which holds a write transaction open for its whole test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store/store.h"
#include "store_fixture.h"

#define THREADS 8
#define JOBS 25

struct db {
	char dir[64], path[96];
	struct store *st;
	int64_t merchant_id;
};

static struct db *db_open(void)
{
	struct db *d = calloc(1, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "/tmp/kopilka-unit-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/k.db", d->dir);
	struct store_options opt = {.synchronous = "full",
				    .busy_timeout_ms = 5000,
				    .pool_size = THREADS + 1,
				    .group_commit_max = 64,
				    .create = true};
	char err[256] = "";
	d->st = store_open(d->path, &opt, err, sizeof(err));
	if (!d->st)
		fail_msg("store_open: %s", err);
	struct store_conn *c = d->st->ops->acquire(d->st);
	assert_int_equal(STORE(c, begin, STORE_TX_WRITE), STORE_OK);
	assert_int_equal(STORE(c, merchant_create, "Cafe", now_ms(), &d->merchant_id), STORE_OK);
	assert_int_equal(STORE(c, commit), STORE_OK);
	c->ops->release(c);
	return d;
}

static void db_close(struct db *d)
{
	d->st->ops->close(d->st);
	store_fixture_remove(d->dir, d->path);
	free(d);
}

/* One job: a client with this phone, committed or (rollback) undone. */
struct job {
	struct store_conn *c;
	int64_t merchant_id;
	char phone[16];
	bool rollback;
	enum store_rc rc; /* what the job's own calls answered */
	bool ran;
};

static void create_client(void *arg)
{
	struct job *j = arg;
	j->ran = true;
	j->rc = STORE(j->c, begin, STORE_TX_ROWS);
	if (j->rc != STORE_OK)
		return;
	struct client cl = {.merchant_id = j->merchant_id, .phone = j->phone, .created_ms = 1};
	snprintf(cl.token, sizeof(cl.token), "t%s", j->phone);
	int64_t id = 0;
	j->rc = STORE(j->c, client_create, &cl, &id);
	if (j->rc == STORE_OK && !j->rollback)
		j->rc = STORE(j->c, commit);
	else
		j->c->ops->rollback(j->c);
}

static bool client_exists(struct db *d, const char *phone)
{
	struct store_conn *c = d->st->ops->acquire(d->st);
	assert_int_equal(STORE(c, begin, STORE_TX_READ), STORE_OK);
	struct client cl = {0};
	enum store_rc rc = STORE(c, client_find_phone, d->merchant_id, phone, &cl);
	assert_true(rc == STORE_OK || rc == STORE_NOT_FOUND);
	client_clear(&cl);
	assert_int_equal(STORE(c, commit), STORE_OK);
	c->ops->release(c);
	return rc == STORE_OK;
}

struct worker {
	struct db *d;
	int n;
	enum store_rc durable[JOBS];
	enum store_rc own[JOBS];
	bool direct; /* begin outside run_write: takes the writer mutex itself */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct store_conn *c = w->d->st->ops->acquire(w->d->st);
	for (int i = 0; i < JOBS; i++) {
		struct job j = {.c = c, .merchant_id = w->d->merchant_id};
		snprintf(j.phone, sizeof(j.phone), "7900%02d%05d", w->n, i);
		if (w->direct) {
			create_client(&j);
			w->durable[i] = STORE_OK;
		} else {
			w->durable[i] = STORE(c, run_write, create_client, &j);
		}
		w->own[i] = j.ran ? j.rc : STORE_ERROR;
	}
	c->ops->release(c);
	return NULL;
}

static void run_workers(struct db *d, int n_direct)
{
	pthread_t t[THREADS];
	struct worker *w = calloc(THREADS, sizeof(*w));
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.d = d, .n = i, .direct = i < n_direct};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		for (int k = 0; k < JOBS; k++) {
			assert_int_equal(w[i].own[k], STORE_OK);
			assert_int_equal(w[i].durable[k], STORE_OK);
			char phone[16];
			snprintf(phone, sizeof(phone), "7900%02d%05d", i, k);
			assert_true(client_exists(d, phone));
		}
	}
	free(w);
}

static void test_jobs_of_many_threads_all_commit(void **state)
{
	(void)state;
	struct db *d = db_open();
	run_workers(d, 0);
	db_close(d);
}

static void test_jobs_mix_with_writers_that_lock_themselves(void **state)
{
	(void)state;
	struct db *d = db_open();
	run_workers(d, THREADS / 2);
	db_close(d);
}

static void test_a_job_that_rolls_back_leaves_nothing(void **state)
{
	(void)state;
	struct db *d = db_open();
	struct store_conn *c = d->st->ops->acquire(d->st);
	struct job j = {
	    .c = c, .merchant_id = d->merchant_id, .phone = "79001112233", .rollback = true};
	assert_int_equal(STORE(c, run_write, create_client, &j), STORE_OK);
	assert_true(j.ran);
	assert_false(client_exists(d, "79001112233"));
	/* The same phone then commits: the undone job left no row and no lock behind. */
	j.rollback = false;
	assert_int_equal(STORE(c, run_write, create_client, &j), STORE_OK);
	assert_int_equal(j.rc, STORE_OK);
	assert_true(client_exists(d, "79001112233"));
	/* A second client with that phone is refused inside its job, and only it is undone. */
	struct job dup = {.c = c, .merchant_id = d->merchant_id, .phone = "79001112233"};
	assert_int_equal(STORE(c, run_write, create_client, &dup), STORE_OK);
	assert_int_equal(dup.rc, STORE_CONFLICT);
	assert_true(client_exists(d, "79001112233"));
	c->ops->release(c);
	db_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jobs_of_many_threads_all_commit),
	    cmocka_unit_test(test_jobs_mix_with_writers_that_lock_themselves),
	    cmocka_unit_test(test_a_job_that_rolls_back_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
