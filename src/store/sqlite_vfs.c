/* The unix VFS with a fence-only WAL-index barrier (see sqlite_vfs.h).
 *
 * A file opened through it is unix's own file object: unix's xOpen fills it, then its methods
 * pointer is swapped for a copy of unix's methods whose xShmBarrier is ours. Every other method
 * is unix's and gets the very object unix filled, so nothing is forwarded or wrapped. The
 * copies are made once per distinct methods table unix hands out (one on Linux). */
#include "store/sqlite_vfs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs vfs;

#define MAX_TABLES 4
struct patched_methods {
	const sqlite3_io_methods *unix_methods;
	sqlite3_io_methods ours;
};
static struct patched_methods tables[MAX_TABLES];
static int n_tables;
static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;

static void fence_barrier(sqlite3_file *f)
{
	(void)f;
	atomic_thread_fence(memory_order_seq_cst);
}

/* Our copy of a methods table unix handed out (the table itself when it has no barrier, or
 * past MAX_TABLES distinct ones). Taken once per file opened, not per read. */
static const sqlite3_io_methods *patched(const sqlite3_io_methods *m)
{
	if (m->iVersion < 2 || !m->xShmBarrier)
		return m;
	const sqlite3_io_methods *result = m;
	pthread_mutex_lock(&tables_mu);
	int i = 0;
	while (i < n_tables && tables[i].unix_methods != m)
		i++;
	if (i == n_tables && n_tables < MAX_TABLES) {
		tables[i].unix_methods = m;
		tables[i].ours = *m;
		tables[i].ours.xShmBarrier = fence_barrier;
		n_tables++;
	}
	if (i < n_tables)
		result = &tables[i].ours;
	pthread_mutex_unlock(&tables_mu);
	return result;
}

/* ---- the WAL's writes, gathered ----
 *
 * SQLite writes a WAL frame as two writes, its 24-byte header and its page: a commit of 150
 * pages was 300 pwrite calls on the writer thread. A WAL file opened through this VFS gathers
 * the writes that follow each other in the file in a buffer (struct wal_buffer, after unix's
 * file object: the VFS's szOsFile is unix's plus a pointer) and writes the buffer as one
 * pwrite when the next write does not follow it or does not fit, and before anything reads,
 * syncs, sizes, truncates or closes the file. The frame that commits a transaction (its header
 * carries the database size after the commit, nonzero only there) is written out with the
 * page that follows its header, before SQLite publishes the commit in the WAL index: so no
 * connection, and no other process, can see a commit whose frames are not in the file, and a
 * failed write fails the commit (xWrite's error), as it did. */
#define WAL_BUFFER_BYTES 126976 /* 31 frames of 4 KiB; unix writes at most 128 KiB at once */
#define WAL_FRAME_HEADER 24

struct wal_buffer {
	sqlite3_int64 start; /* the file offset of data[0] */
	int len;
	/* A commit frame's header was the last write: flush after its page. */
	bool commit_page_next;
	char data[WAL_BUFFER_BYTES];
};

/* What this VFS adds after unix's file object (szOsFile is unix's rounded up, plus this). */
struct file_extra {
	struct wal_buffer *wal; /* NULL: not a WAL file, or nothing buffered yet */
};

static int extra_offset;       /* unix's szOsFile rounded up to 8 */
static atomic_long wal_writes; /* writes handed to unix for WAL files (tests) */
static sqlite3_io_methods wal_methods;
static const sqlite3_io_methods *wal_unix; /* the methods the WAL file's own calls go to */

static struct file_extra *extra_of(sqlite3_file *f)
{
	return (struct file_extra *)((char *)f + extra_offset);
}

static int wal_flush(sqlite3_file *f)
{
	struct wal_buffer *b = extra_of(f)->wal;
	if (!b || b->len == 0)
		return SQLITE_OK;
	int len = b->len;
	b->len = 0;
	b->commit_page_next = false;
	atomic_fetch_add_explicit(&wal_writes, 1, memory_order_relaxed);
	return wal_unix->xWrite(f, b->data, len, b->start);
}

static int wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
	struct file_extra *x = extra_of(f);
	if (amt > WAL_BUFFER_BYTES) {
		int rc = wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		atomic_fetch_add_explicit(&wal_writes, 1, memory_order_relaxed);
		return wal_unix->xWrite(f, data, amt, off);
	}
	if (!x->wal) {
		x->wal = malloc(sizeof(*x->wal));
		if (!x->wal) { /* written as it comes, as unix would */
			atomic_fetch_add_explicit(&wal_writes, 1, memory_order_relaxed);
			return wal_unix->xWrite(f, data, amt, off);
		}
		x->wal->len = 0;
		x->wal->commit_page_next = false;
	}
	struct wal_buffer *b = x->wal;
	bool commit_page = b->commit_page_next;
	if (b->len > 0 && (off != b->start + b->len || b->len + amt > WAL_BUFFER_BYTES)) {
		int rc = wal_flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (b->len == 0)
		b->start = off;
	memcpy(b->data + b->len, data, (size_t)amt);
	b->len += amt;
	const unsigned char *h = data;
	b->commit_page_next =
	    amt == WAL_FRAME_HEADER && (h[4] | h[5] | h[6] | h[7]) != 0; /* its commit size */
	return commit_page ? wal_flush(f) : SQLITE_OK;
}

static int wal_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : wal_unix->xRead(f, data, amt, off);
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : wal_unix->xTruncate(f, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : wal_unix->xSync(f, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = wal_flush(f);
	return rc != SQLITE_OK ? rc : wal_unix->xFileSize(f, size);
}

static int wal_close(sqlite3_file *f)
{
	int rc = wal_flush(f);
	free(extra_of(f)->wal);
	extra_of(f)->wal = NULL;
	int close_rc = wal_unix->xClose(f);
	return rc != SQLITE_OK ? rc : close_rc;
}

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)v;
	extra_of(f)->wal = NULL;
	int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out_flags);
	if (rc != SQLITE_OK || !f->pMethods)
		return rc;
	f->pMethods = patched(f->pMethods);
	if (flags & SQLITE_OPEN_WAL) {
		pthread_mutex_lock(&tables_mu);
		if (!wal_unix) {
			wal_unix = f->pMethods;
			wal_methods = *wal_unix;
			wal_methods.xWrite = wal_write;
			wal_methods.xRead = wal_read;
			wal_methods.xTruncate = wal_truncate;
			wal_methods.xSync = wal_sync;
			wal_methods.xFileSize = wal_file_size;
			wal_methods.xClose = wal_close;
		}
		if (f->pMethods == wal_unix)
			f->pMethods = &wal_methods;
		pthread_mutex_unlock(&tables_mu);
	}
	return rc;
}

bool sqlite_vfs_register(void)
{
	unix_vfs = sqlite3_vfs_find("unix");
	if (!unix_vfs)
		return false;
	/* unix's other methods read only the fields copied here (pAppData: its locking style;
	 * mxPathname; szOsFile), so they work on the copy. */
	vfs = *unix_vfs;
	vfs.pNext = NULL;
	extra_offset = (unix_vfs->szOsFile + 7) & ~7;
	vfs.szOsFile = extra_offset + (int)sizeof(struct file_extra);
	vfs.zName = SQLITE_VFS_NAME;
	vfs.xOpen = vfs_open;
	return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

bool sqlite_vfs_file_is_ours(sqlite3_file *f)
{
	return f && f->pMethods && f->pMethods->iVersion >= 2 &&
	       f->pMethods->xShmBarrier == fence_barrier;
}

long sqlite_vfs_wal_writes(void)
{
	return atomic_load_explicit(&wal_writes, memory_order_relaxed);
}

bool sqlite_vfs_file_gathers_writes(sqlite3_file *f)
{
	return f && f->pMethods == &wal_methods;
}
