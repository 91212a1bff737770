/* The SQLite engine's own types, shared by its files and by no one else: sqlite.c (connections,
 * the statements' driver, the operations only SQLite does) and sqlite_writer.c (write
 * transactions, group commit, the WAL sync, checkpoints). */
#ifndef KOPILKA_STORE_SQLITE_ENGINE_H
#define KOPILKA_STORE_SQLITE_ENGINE_H

#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "store/pool.h"
#include "store/sql.h"
#include "store/store.h"

/* clang-format off */
/* Every statement the engine runs, prepared once per connection. */
#define STATEMENTS(X)                                                                              \
	X(BEGIN_READ, "BEGIN")                                                                     \
	X(BEGIN_WRITE, "BEGIN IMMEDIATE")                                                          \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(PING, "SELECT 1")                                                                        \
	X(SAVEPOINT, "SAVEPOINT sp")                                                               \
	X(SAVEPOINT_UNDO, "ROLLBACK TO sp")                                                        \
	X(SAVEPOINT_RELEASE, "RELEASE sp")                                                         \
	X(MEMBER_BEGIN, "SAVEPOINT member")                                                        \
	X(MEMBER_UNDO, "ROLLBACK TO member")                                                       \
	X(MEMBER_RELEASE, "RELEASE member")                                                        \
	X(ORDER_SEQ, "UPDATE merchants SET order_seq = order_seq + 1 WHERE id = ?")                \
	X(ORDER_SEQ_READ, "SELECT order_seq FROM merchants WHERE id = ?")

/* clang-format on */
#define STMT_ENUM(name, sql) ST_##name,
#define STMT_SQL(name, sql) sql,
enum stmt_id { STATEMENTS(STMT_ENUM) ST__COUNT };

struct sq_conn {
	struct store_conn base;
	struct sq_store *owner;
	sqlite3 *db;
	sqlite3_stmt *stmts[ST__COUNT];
	sqlite3_stmt *shared[SQL__COUNT]; /* the shared statements (store/statements.h) */
	/* Shared statements prepared without their "RETURNING id", the row given from
	 * sqlite3_last_insert_rowid (sqlite.c, rowid_returning). */
	bool rowid_returning[SQL__COUNT];
	struct sq_search *search; /* the client search's statements (sqlite_search.c) */
	bool in_tx;
	bool holds_write; /* this connection holds its store's write_mu */
	/* While a write transaction of this borrower is open: the store's writer connection, on
	 * which every operation of the borrower runs (inside the member's savepoint). */
	struct sq_conn *writing;
};

/* A write transaction waiting for the commit of the group it joined (group commit below):
 * `wake` is posted once `rc`, its outcome, is known. */
struct gc_member {
	struct gc_member *next;
	enum store_rc rc;
	sem_t *wake;
};

/* A request's write queued for the writer thread (sq_run_write), on the requester's stack. */
struct wr_job {
	struct wr_job *next;
	void (*fn)(void *arg);
	void *arg;
	struct gc_member member; /* its commit's, once it made one (`committed`) */
	bool committed;
	sem_t done; /* posted when it ran and, if it committed, that commit is settled */
};

struct sq_store {
	struct store base;
	char *path;
	struct store_options opt;
	struct conn_pool pool;
	/* Writers of this process queue here rather than in SQLite's busy handler, which sleeps
	 * and polls (measured: ~11 ms per order under load); another process on the same file
	 * still meets the busy timeout. */
	pthread_mutex_t write_mu;

	/* Group commit. Every write transaction of the process runs on the one connection
	 * `writer`, as a SAVEPOINT inside a transaction (`group_open`) that several writers
	 * share: a writer that finishes while others queue on write_mu releases its savepoint
	 * and hands the open transaction on; the last of the group (no one queued, or
	 * group_max members) COMMITs once and, after one WAL sync (below), wakes every member
	 * with the outcome. No member returns before that COMMIT succeeded and was synced, so
	 * an acknowledged write is durable; if the COMMIT (or a statement that takes the whole
	 * transaction with it) or the sync fails, every member gets the error. A member that
	 * rolls back undoes only its own savepoint. Fields below but `queued`, `wal_mu`,
	 * `wal_fd` and `sync_failed` are guarded by write_mu. */
	struct sq_conn *writer;
	int group_max;
	bool group_open; /* BEGIN IMMEDIATE done on writer, COMMIT not yet */
	int group_size;	 /* members waiting for that COMMIT */
	struct gc_member *group_members;
	_Atomic int queued; /* writers waiting for write_mu, and jobs for the writer thread */

	/* The writer thread. Handing write_mu from one request thread to the next cost more than
	 * the writes themselves: 32 write workers on 2 vCPUs queued on it, and the holder was
	 * often preempted mid-transaction by the others. A request's write (the whole of
	 * call.c's write_tx, a `struct wr_job`) is instead queued here and run by one thread,
	 * which takes write_mu once for a group and runs the queued writes back to back in it;
	 * the requester sleeps on its own semaphore until its commit is settled (or its job
	 * ended without one). Writes outside requests (start-up, the CLI, login counters, the
	 * tests' direct transactions) still take write_mu themselves and join or open groups as
	 * before. Fields guarded by jobs_mu; `running` is the writer thread's own. */
	pthread_t writer_thread;
	bool writer_running;	 /* started; sq_run_write queues only then */
	pthread_mutex_t jobs_mu; /* with jobs_cv */
	pthread_cond_t jobs_cv;
	struct wr_job *jobs_head, *jobs_tail;
	bool writer_idle; /* waiting on jobs_cv: a new job signals it */
	bool jobs_stop;
	struct wr_job *running;

	/* The sync thread: the members of ended groups (`settle`, below) are handed to it, and it
	 * syncs the WAL once for all it holds and wakes them, while the writer thread runs the
	 * next group. Fields guarded by sync_mu. */
	pthread_t sync_thread;
	bool sync_running;
	pthread_mutex_t sync_mu; /* with sync_cv */
	pthread_cond_t sync_cv;
	struct gc_member *to_sync;
	bool to_sync_wal; /* one of their groups committed: sync before waking them */
	bool sync_stop;

	/* The WAL sync outside write_mu. With --sqlite-synchronous full, SQLite's own FULL
	 * mode syncs the WAL inside each COMMIT, with write_mu held, so the next group waited
	 * for the disk too. Every connection runs synchronous=NORMAL instead (the COMMIT only
	 * writes the group's frames; a checkpoint still syncs the WAL before copying it), and
	 * the sync thread (or, before it runs, the thread that ended a group, after releasing
	 * write_mu) syncs the WAL while the next group runs, and only then wakes the members: a
	 * 2xx still waits for its frames on disk. A sync covers every frame written before it, so a
	 * later group's sync also covers an earlier one still syncing, and WAL recovery keeps a
	 * prefix of the commits: durability stays in commit order. The members of finished groups
	 * wait in `settle` (guarded by write_mu) until the thread that releases write_mu takes them
	 * (write_unlock). A failed sync fails its members and every later write (`sync_failed`:
	 * the kernel may have dropped the pages it could not write; restart to recover). */
	bool sync_wal;		  /* --sqlite-synchronous full */
	pthread_mutex_t wal_mu;	  /* guards wal_fd, held through a sync */
	int wal_fd;		  /* the -wal file, opened on the first sync; -1 before */
	struct gc_member *settle; /* members of ended groups, answered at write_unlock */
	bool settle_sync;	  /* one of those groups committed: sync before answering */
	_Atomic bool sync_failed;

	/* Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the COMMIT
	 * that crosses wal_autocheckpoint pages, with write_mu held, so every writer queued
	 * behind that group waited for it (measured: +11 % orders/s and p99 26 -> 14 ms without
	 * it). The writer instead reports the WAL's size after each commit (wal_hook) and a
	 * thread of its own, on its own connection, runs PASSIVE checkpoints beside the
	 * writers once the WAL passes WAL_CKPT_PAGES, the bulk beside them (pass after pass,
	 * each copying what the writers added during the one before, until under
	 * WAL_TAIL_PAGES are left) and that short tail between two groups (so the WAL starts
	 * over; see ckpt_main). Should the WAL still pass
	 * WAL_HARD_PAGES (the thread starved, or behind readers), the writer checkpoints itself
	 * after waking its group, as SQLite did: the WAL stays bounded either way. Closing the
	 * store stops the thread before the last connection closes, which checkpoints the whole
	 * WAL. */
	pthread_t ckpt_thread;
	bool ckpt_running;	 /* the thread was started */
	pthread_mutex_t ckpt_mu; /* guards ckpt_wanted, ckpt_stop; with ckpt_cv */
	pthread_cond_t ckpt_cv;
	bool ckpt_wanted;
	bool ckpt_stop;
	bool ckpt_inline; /* guarded by write_mu: the WAL passed WAL_HARD_PAGES */
	struct sq_conn *ckpt_conn;
	int ckpt_db_fd;	       /* the database file, synced after a pass beside the writers */
	_Atomic int wal_pages; /* the WAL's size after the writer's last commit (wal_hook) */
};

/* The page cache of the writer connection, in KiB (the others have 8 MiB, sq_conn_open).
 * A sale inserts into indexes keyed at random (externalId, public tokens, the client's
 * ledger and lots), so its pages are spread over the whole file: with 8 MiB the writer read
 * ~10 pages a sale back from the OS, with 32 MiB ~4 (strace -c on the writer thread, 100k
 * clients). Counted in --sqlite-memory-mib like every cache. */
#define WRITER_CACHE_KIB (32 * 1024)

/* WAL sizes, in pages, that start a background checkpoint and that make the writer checkpoint
 * inline, and the size the WAL file keeps (journal_size_limit) once it starts over. 16x
 * SQLite's wal_autocheckpoint: a longer WAL lets a checkpoint copy a page written by many
 * commits once and takes the tail under write_mu a sixteenth as often. The file keeps its
 * largest size: a WAL cut back and grown again each cycle changes its size, and every sync
 * of it then writes the file's metadata too. Measured on 2 vCPUs, 16 connections of orders
 * (docs/PERFORMANCE.md, "Checkpoints"): 4,000 pages cut back at 64 MiB gave ~1,900 orders/s
 * and p99 ~29 ms; these ~2,400 and ~19 ms. The WAL file then takes up to 129 MiB on disk. */
#define WAL_CKPT_PAGES 16000
#define WAL_HARD_PAGES 32000
#define WAL_KEEP_BYTES ((int64_t)WAL_HARD_PAGES * 4096 + (1 << 20))
/* What the checkpoint thread leaves for the tail it copies with write_mu held: every group
 * queued meanwhile waits for that copy and the database's sync after it, so it is kept to a
 * few milliseconds of writes (measured: a tail of whatever one 4,000-page pass left, copied
 * under the mutex, set the orders' p99 at ~30 ms). At most WAL_CKPT_PASSES passes beside
 * the writers get it there (each copies what was written during the one before). */
#define WAL_TAIL_PAGES 64
#define WAL_CKPT_PASSES 8

/* sqlite.c: the connection's prepared statement id, reset and unbound; run one that returns
 * no rows (then reset); reset one after its rows; the connection an operation runs on (the
 * writer while the borrower's write transaction is open). */
sqlite3_stmt *sq_stmt(struct sq_conn *c, enum stmt_id id);
enum store_rc sq_exec(struct sq_conn *c, sqlite3_stmt *s, const char *what);
void sq_done(sqlite3_stmt *s);
struct sq_conn *SQ(struct store_conn *c);
struct sq_conn *sq_conn_open(struct sq_store *st, bool create, char *err_buf, size_t err_len);
void sq_conn_close(struct sq_conn *c);

/* sqlite_writer.c: the ops table's begin, commit, rollback and run_write, and the checkpoint
 * thread (started once the writer connection is open, stopped before the connections close). */
enum store_rc sq_begin(struct store_conn *base, int kind);
enum store_rc sq_commit(struct store_conn *base);
void sq_rollback(struct store_conn *base);
enum store_rc sq_run_write(struct store_conn *base, void (*fn)(void *arg), void *arg);
void sq_ckpt_start(struct sq_store *st);
void sq_ckpt_stop(struct sq_store *st);
/* The writer and sync threads: started once the writer connection is open (not for a
 * read-only database), stopped (the queued jobs run first) before the connections close. */
void sq_writer_start(struct sq_store *st);
void sq_writer_stop(struct sq_store *st);

#endif
