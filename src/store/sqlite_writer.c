/* Write transactions of the SQLite engine: the writer thread, group commit, the WAL sync
 * outside the writer mutex, and checkpoints off the commit path (see struct sq_store in
 * sqlite_engine.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "store/sqlite_engine.h"

/* The store whose writer thread this is (NULL on every other thread). */
static _Thread_local struct sq_store *writer_of;

/* ---- checkpoints (see struct sq_store) ---- */

/* The writer's wal_hook: called after each of its commits with the WAL's size in pages. */
static int wal_grew(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	struct sq_store *st = arg;
	atomic_store(&st->wal_pages, pages);
	if (pages < WAL_CKPT_PAGES)
		return SQLITE_OK;
	if (pages >= WAL_HARD_PAGES)
		st->ckpt_inline = true; /* write_mu is held: group_finish runs it */
	pthread_mutex_lock(&st->ckpt_mu);
	if (!st->ckpt_wanted) {
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cv);
	}
	pthread_mutex_unlock(&st->ckpt_mu);
	return SQLITE_OK;
}

static enum store_rc group_finish(struct sq_store *st, enum store_rc rc);
static void write_unlock(struct sq_store *st);

/* One checkpoint pass on the thread's connection; returns how many of the WAL's frames are
 * now in the database (0 when the pass failed: the caller then goes on to the tail). */
static int ckpt_pass(struct sq_store *st)
{
	int log = 0, copied = 0;
	if (sqlite3_wal_checkpoint_v2(st->ckpt_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
				      &copied) != SQLITE_OK)
		copied = 0;
	metrics_add(M_DB_CHECKPOINTS, 1);
	return copied;
}

static void *ckpt_main(void *arg)
{
	struct sq_store *st = arg;
	pthread_mutex_lock(&st->ckpt_mu);
	for (;;) {
		while (!st->ckpt_wanted && !st->ckpt_stop)
			pthread_cond_wait(&st->ckpt_cv, &st->ckpt_mu);
		if (st->ckpt_stop)
			break;
		st->ckpt_wanted = false;
		pthread_mutex_unlock(&st->ckpt_mu);
		/* The WAL starts over only when a write transaction begins on a WAL whose every
		 * frame is in the database. Under steady writes a pass beside the writers never
		 * gets there: the group open meanwhile commits more. So the bulk is copied beside
		 * the writers, then the short tail with write_mu held, after committing the group
		 * it may find open (its members have all released their savepoints and wait for
		 * that COMMIT); the next group's BEGIN then reuses the WAL from its start. */
		for (int pass = 0; pass < WAL_CKPT_PASSES; pass++) {
			int copied = ckpt_pass(st);
			/* A pass that did not reach the WAL's end leaves the pages it copied
			 * unsynced, and the tail's pass would sync them all with write_mu held
			 * (measured: 25-60 ms per checkpoint, the orders' p99). Synced here,
			 * beside the writers, the tail's sync has only the tail's pages left. */
			if (st->ckpt_db_fd >= 0 && fdatasync(st->ckpt_db_fd) != 0)
				log_warn("sqlite: fdatasync %s: %s", st->path, strerror(errno));
			/* What the writers added during this pass: copied by the next one
			 * while it is more than a short tail. After the WAL started over,
			 * the size is below what was copied: nothing is left. */
			if (copied == 0 || atomic_load(&st->wal_pages) - copied <= WAL_TAIL_PAGES)
				break;
		}
		pthread_mutex_lock(&st->write_mu);
		if (st->group_open && st->group_size > 0)
			group_finish(st, STORE_OK);
		if (!st->group_open)
			ckpt_pass(st);
		write_unlock(st);
		pthread_mutex_lock(&st->ckpt_mu);
		/* The commits of this cycle asked again while the WAL was still long; the tail
		 * just let it start over, so those asks are answered (a WAL that could not start
		 * over, behind a reader, asks again at the next commit). */
		st->ckpt_wanted = false;
	}
	pthread_mutex_unlock(&st->ckpt_mu);
	return NULL;
}

/* Starts the checkpoint thread and moves the writer's checkpoints to it; without it (a
 * read-only database, no thread) the writer keeps SQLite's automatic checkpoint. */
void sq_ckpt_start(struct sq_store *st)
{
	if (sqlite3_db_readonly(st->writer->db, "main") == 1)
		return;
	char err[256];
	st->ckpt_conn = sq_conn_open(st, false, err, sizeof(err));
	if (!st->ckpt_conn || sqlite3_db_readonly(st->ckpt_conn->db, "main") == 1)
		goto keep_auto;
	st->ckpt_db_fd = open(st->path, O_RDWR | O_CLOEXEC);
	if (pthread_create(&st->ckpt_thread, NULL, ckpt_main, st) != 0)
		goto keep_auto;
	st->ckpt_running = true;
	sqlite3_wal_hook(st->writer->db, wal_grew, st); /* replaces wal_autocheckpoint */
	return;
keep_auto:
	if (st->ckpt_conn)
		sq_conn_close(st->ckpt_conn);
	st->ckpt_conn = NULL;
	if (st->ckpt_db_fd >= 0)
		close(st->ckpt_db_fd);
	st->ckpt_db_fd = -1;
}

void sq_ckpt_stop(struct sq_store *st)
{
	if (!st->ckpt_running)
		return;
	pthread_mutex_lock(&st->ckpt_mu);
	st->ckpt_stop = true;
	pthread_cond_signal(&st->ckpt_cv);
	pthread_mutex_unlock(&st->ckpt_mu);
	pthread_join(st->ckpt_thread, NULL);
	st->ckpt_running = false;
	if (st->ckpt_db_fd >= 0)
		close(st->ckpt_db_fd);
	st->ckpt_db_fd = -1;
	if (st->writer)
		sqlite3_wal_hook(st->writer->db, NULL, NULL);
}

/* ---- transactions and group commit (see struct sq_store) ---- */

/* Ends the group's transaction (COMMIT, or ROLLBACK when `rc` is already a failure) and
 * hands its members, with the outcome, to the write_unlock that follows. Called with
 * write_mu held. */
static enum store_rc group_finish(struct sq_store *st, enum store_rc rc)
{
	struct sq_conn *w = st->writer;
	if (rc == STORE_OK && sqlite3_get_autocommit(w->db))
		rc = STORE_FULL; /* an I/O or disk-full error took the transaction with it */
	if (rc == STORE_OK) {
		int64_t started = mono_us();
		rc = sq_exec(w, sq_stmt(w, ST_COMMIT), "commit");
		if (rc == STORE_OK)
			metrics_commit(mono_us() - started, st->group_size);
	}
	if (rc != STORE_OK && !sqlite3_get_autocommit(w->db))
		sq_exec(w, sq_stmt(w, ST_ROLLBACK), "rollback");
	/* After a full disk: no commit succeeds, so no checkpoint is asked for and the WAL keeps
	 * what it holds; move it into the database now, so the WAL is reused from its start (and
	 * cut to journal_size_limit) once space returns. Likewise once the WAL passed
	 * WAL_HARD_PAGES with the checkpoint thread behind (see struct sq_store). */
	bool ckpt_now = rc == STORE_FULL || st->ckpt_inline;
	st->ckpt_inline = false;
	st->group_open = false;
	struct gc_member *m = st->group_members;
	st->group_members = NULL;
	st->group_size = 0;
	/* Answered once write_mu is released and the WAL synced (write_unlock). */
	while (m) {
		struct gc_member *next = m->next;
		m->rc = rc;
		m->next = st->settle;
		st->settle = m;
		m = next;
	}
	if (rc == STORE_OK)
		st->settle_sync = st->sync_wal;
	if (ckpt_now) {
		sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		metrics_add(M_DB_CHECKPOINTS_INLINE, 1);
	}
	return rc;
}

/* Makes the WAL's frames durable: fdatasync of the -wal file (what SQLite's FULL mode does
 * at each COMMIT), through a descriptor of our own, opened again should the file have been
 * replaced. Any thread; no lock needed. */
static bool wal_sync(struct sq_store *st)
{
	char wal[PATH_MAX];
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	bool ok = true;
	/* One sync at a time: a second one waiting here is covered by the first only in part
	 * (frames written after it began), so it still runs, on the same descriptor. */
	pthread_mutex_lock(&st->wal_mu);
	struct stat now, held;
	if (st->wal_fd < 0 || stat(wal, &now) != 0 || fstat(st->wal_fd, &held) != 0 ||
	    now.st_ino != held.st_ino || now.st_dev != held.st_dev) {
		if (st->wal_fd >= 0)
			close(st->wal_fd);
		st->wal_fd = open(wal, O_RDWR | O_CLOEXEC);
		if (st->wal_fd < 0) {
			log_error(
			    "sqlite: cannot open %s to sync it: %s; writes are refused until a "
			    "restart",
			    wal, strerror(errno));
			ok = false;
		}
	}
	if (ok && fdatasync(st->wal_fd) != 0) {
		log_error("sqlite: fdatasync %s: %s; writes are refused until a restart", wal,
			  strerror(errno));
		ok = false;
	}
	pthread_mutex_unlock(&st->wal_mu);
	if (ok)
		metrics_add(M_DB_WAL_SYNCS, 1);
	return ok;
}

/* Wakes the members of ended groups, after syncing the WAL when one of those groups
 * committed (`sync`): every member whose COMMIT succeeded fails if the sync did. */
static void settle_members(struct sq_store *st, struct gc_member *m, bool sync)
{
	bool synced = !sync || wal_sync(st);
	if (!synced)
		st->sync_failed = true;
	while (m) {
		struct gc_member *next = m->next; /* m is gone once woken */
		if (!synced && m->rc == STORE_OK)
			m->rc = STORE_FULL;
		sem_post(m->wake);
		m = next;
	}
}

/* Releases write_mu; then has the members of the groups that ended under it answered: by the
 * sync thread when it runs, else here (see struct sq_store). */
static void write_unlock(struct sq_store *st)
{
	struct gc_member *m = st->settle;
	bool sync = st->settle_sync;
	st->settle = NULL;
	st->settle_sync = false;
	pthread_mutex_unlock(&st->write_mu);
	if (!m)
		return;
	if (!st->sync_running) {
		settle_members(st, m, sync);
		return;
	}
	pthread_mutex_lock(&st->sync_mu);
	while (m) {
		struct gc_member *next = m->next;
		m->next = st->to_sync;
		st->to_sync = m;
		m = next;
	}
	st->to_sync_wal = st->to_sync_wal || sync;
	pthread_cond_signal(&st->sync_cv);
	pthread_mutex_unlock(&st->sync_mu);
}

static void *sync_main(void *arg)
{
	struct sq_store *st = arg;
	pthread_setname_np(pthread_self(), "kopilka-sync");
	pthread_mutex_lock(&st->sync_mu);
	for (;;) {
		while (!st->to_sync && !st->sync_stop)
			pthread_cond_wait(&st->sync_cv, &st->sync_mu);
		if (!st->to_sync)
			break; /* stopping, nothing left */
		struct gc_member *m = st->to_sync;
		bool sync = st->to_sync_wal;
		st->to_sync = NULL;
		st->to_sync_wal = false;
		pthread_mutex_unlock(&st->sync_mu);
		settle_members(st, m, sync);
		pthread_mutex_lock(&st->sync_mu);
	}
	pthread_mutex_unlock(&st->sync_mu);
	return NULL;
}

/* Leaves the writer to whoever queues next: the borrower's transaction is over for it. */
static void writer_leave(struct sq_conn *c)
{
	c->in_tx = false;
	c->writing = NULL;
	if (c->holds_write) {
		c->holds_write = false;
		write_unlock(c->owner);
	}
}

enum store_rc sq_begin(struct store_conn *base, int kind)
{
	struct sq_conn *c = (struct sq_conn *)base;
	assert(!c->in_tx);
	if (kind == STORE_TX_READ) {
		enum store_rc rc = sq_exec(c, sq_stmt(c, ST_BEGIN_READ), "begin");
		c->in_tx = rc == STORE_OK;
		return rc;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	if (st->sync_failed)
		return STORE_FULL; /* a WAL sync failed (struct sq_store) */
	if (writer_of != st) {	   /* the writer thread holds write_mu through its jobs */
		st->queued++;
		pthread_mutex_lock(&st->write_mu);
		st->queued--;
		c->holds_write = true;
	}
	enum store_rc rc = STORE_OK;
	if (st->group_open && sqlite3_get_autocommit(w->db))
		group_finish(st, STORE_FULL); /* lost with an error: its members fail */
	if (!st->group_open) {
		rc = sq_exec(w, sq_stmt(w, ST_BEGIN_WRITE), "begin");
		st->group_open = rc == STORE_OK;
	}
	if (rc == STORE_OK)
		rc = sq_exec(w, sq_stmt(w, ST_MEMBER_BEGIN), "savepoint");
	if (rc != STORE_OK) {
		if (st->group_open && st->group_size == 0)
			group_finish(st, rc);
		else if (st->group_open && st->queued == 0)
			group_finish(st, STORE_OK); /* the members before us still commit */
		writer_leave(c);
		return rc;
	}
	c->in_tx = true;
	c->writing = w;
	return STORE_OK;
}

/* The borrower's part is settled (savepoint released or undone): hand the open transaction to
 * the next writer when one queues and the group has room, else end the group now. */
static void group_pass_or_finish(struct sq_store *st)
{
	if (st->group_size == 0) {
		if (st->group_open)
			group_finish(st,
				     STORE_ERROR); /* nothing to keep: roll the empty one back */
		return;
	}
	if (st->queued > 0 && st->group_size < st->group_max &&
	    !sqlite3_get_autocommit(st->writer->db))
		return;
	group_finish(st, STORE_OK);
}

enum store_rc sq_commit(struct store_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (!c->writing) { /* a read transaction */
		enum store_rc rc = sq_exec(c, sq_stmt(c, ST_COMMIT), "commit");
		if (rc == STORE_OK)
			c->in_tx = false;
		return rc;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	enum store_rc rc = STORE_FULL;
	if (!sqlite3_get_autocommit(w->db))
		rc = sq_exec(w, sq_stmt(w, ST_MEMBER_RELEASE), "release savepoint");
	if (rc != STORE_OK)
		return rc; /* still in the transaction: the caller rolls back */
	/* A job of the writer thread answers now; its requester learns the outcome from
	 * sq_run_write. Any other writer waits for it here. */
	struct wr_job *job = writer_of == st ? st->running : NULL;
	struct gc_member alone;
	sem_t wake;
	struct gc_member *me = &alone;
	if (job) {
		assert(!job->committed); /* one commit a job: its last */
		job->committed = true;
		me = &job->member;
		me->wake = &job->done;
	} else {
		sem_init(&wake, 0, 0);
		me->wake = &wake;
	}
	me->next = st->group_members;
	st->group_members = me;
	st->group_size++;
	group_pass_or_finish(st);
	writer_leave(c);
	if (job)
		return STORE_OK;
	while (sem_wait(&wake) != 0 && errno == EINTR)
		;
	sem_destroy(&wake);
	return alone.rc;
}

void sq_rollback(struct store_conn *base)
{
	struct sq_conn *c = (struct sq_conn *)base;
	if (!c->writing) {
		if (c->in_tx && sqlite3_get_autocommit(c->db) == 0)
			sq_exec(c, sq_stmt(c, ST_ROLLBACK), "rollback");
		c->in_tx = false;
		return;
	}
	struct sq_store *st = c->owner;
	struct sq_conn *w = st->writer;
	if (!sqlite3_get_autocommit(w->db)) {
		sq_exec(w, sq_stmt(w, ST_MEMBER_UNDO), "rollback to savepoint");
		sq_exec(w, sq_stmt(w, ST_MEMBER_RELEASE), "release savepoint");
	}
	if (sqlite3_get_autocommit(w->db))
		group_finish(st, STORE_FULL);
	else
		group_pass_or_finish(st);
	writer_leave(c);
}

/* ---- the writer thread (see struct sq_store) ---- */

enum store_rc sq_run_write(struct store_conn *base, void (*fn)(void *arg), void *arg)
{
	struct sq_store *st = ((struct sq_conn *)base)->owner;
	if (!st->writer_running || writer_of == st)
		return store_run_write_here(base, fn, arg);
	struct wr_job job = {.fn = fn, .arg = arg};
	sem_init(&job.done, 0, 0);
	st->queued++;
	pthread_mutex_lock(&st->jobs_mu);
	if (st->jobs_tail)
		st->jobs_tail->next = &job;
	else
		st->jobs_head = &job;
	st->jobs_tail = &job;
	if (st->writer_idle)
		pthread_cond_signal(&st->jobs_cv);
	pthread_mutex_unlock(&st->jobs_mu);
	while (sem_wait(&job.done) != 0 && errno == EINTR)
		;
	sem_destroy(&job.done);
	return job.committed ? job.member.rc : STORE_OK;
}

static struct wr_job *job_take(struct sq_store *st)
{
	pthread_mutex_lock(&st->jobs_mu);
	struct wr_job *j = st->jobs_head;
	if (j) {
		st->jobs_head = j->next;
		if (!st->jobs_head)
			st->jobs_tail = NULL;
		st->queued--;
	}
	pthread_mutex_unlock(&st->jobs_mu);
	return j;
}

/* Takes write_mu while jobs wait, runs them back to back until their group ends (no job
 * left, group_max members, or an error: group_pass_or_finish), then releases it, which hands
 * the group's members to the sync thread, and starts over. */
static void *writer_main(void *arg)
{
	struct sq_store *st = arg;
	writer_of = st;
	pthread_setname_np(pthread_self(), "kopilka-writer"); /* as top -H and perf show it */
	for (;;) {
		pthread_mutex_lock(&st->jobs_mu);
		while (!st->jobs_head && !st->jobs_stop) {
			st->writer_idle = true;
			pthread_cond_wait(&st->jobs_cv, &st->jobs_mu);
			st->writer_idle = false;
		}
		bool stop = !st->jobs_head; /* stopping, and every job ran */
		pthread_mutex_unlock(&st->jobs_mu);
		if (stop)
			break;
		pthread_mutex_lock(&st->write_mu);
		struct wr_job *j;
		while ((j = job_take(st))) {
			st->running = j;
			j->fn(j->arg);
			st->running = NULL;
			if (!j->committed)
				sem_post(
				    &j->done); /* else at its group's settling; j may be gone */
			if (!st->group_open)
				break;
		}
		if (st->group_open)
			group_finish(st, st->group_size > 0 ? STORE_OK : STORE_ERROR);
		write_unlock(st);
	}
	return NULL;
}

void sq_writer_start(struct sq_store *st)
{
	if (sqlite3_db_readonly(st->writer->db, "main") == 1)
		return;
	if (pthread_create(&st->sync_thread, NULL, sync_main, st) != 0)
		return; /* members are settled by the thread that ends their group */
	st->sync_running = true;
	if (pthread_create(&st->writer_thread, NULL, writer_main, st) == 0)
		st->writer_running = true; /* else writes take write_mu themselves */
}

void sq_writer_stop(struct sq_store *st)
{
	if (st->writer_running) {
		pthread_mutex_lock(&st->jobs_mu);
		st->jobs_stop = true;
		pthread_cond_signal(&st->jobs_cv);
		pthread_mutex_unlock(&st->jobs_mu);
		pthread_join(st->writer_thread, NULL);
		st->writer_running = false;
	}
	if (st->sync_running) {
		pthread_mutex_lock(&st->sync_mu);
		st->sync_stop = true;
		pthread_cond_signal(&st->sync_cv);
		pthread_mutex_unlock(&st->sync_mu);
		pthread_join(st->sync_thread, NULL);
		st->sync_running = false;
	}
}
