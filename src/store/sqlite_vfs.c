/* The unix VFS with a fence-only WAL-index barrier (see sqlite_vfs.h).
 *
 * A file opened through it is unix's own file object: unix's xOpen fills it, then its methods
 * pointer is swapped for a copy of unix's methods whose xShmBarrier is ours. Every other method
 * is unix's and gets the very object unix filled, so nothing is forwarded or wrapped. The
 * copies are made once per distinct methods table unix hands out (one on Linux). */
#include "store/sqlite_vfs.h"

#include <pthread.h>
#include <stdatomic.h>

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

static int vfs_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	(void)v;
	int rc = unix_vfs->xOpen(unix_vfs, name, f, flags, out_flags);
	if (rc == SQLITE_OK && f->pMethods)
		f->pMethods = patched(f->pMethods);
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
	vfs.zName = SQLITE_VFS_NAME;
	vfs.xOpen = vfs_open;
	return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

bool sqlite_vfs_file_is_ours(sqlite3_file *f)
{
	return f && f->pMethods && f->pMethods->iVersion >= 2 &&
	       f->pMethods->xShmBarrier == fence_barrier;
}
