/* The VFS kopilkad opens its SQLite databases through: SQLite's own unix VFS, but for the
 * memory barrier of the WAL index (xShmBarrier). unix's barrier is a fence and then, "for
 * redundancy", the lock and unlock of the unix VFS's one global mutex, which every read
 * transaction of every connection went through twice (walIndexTryHdr) -- a process-wide lock
 * on the read path (docs/PERFORMANCE.md, "Reads without process-wide locks"). Ours is the
 * fence alone, which is what the barrier's contract asks (sqlite3_io_methods). Everything
 * else, the files, their locks and the shared-memory WAL index, is unix's, unchanged, so
 * other processes (the sqlite3 shell, kopilkad check) share the database as before.
 *
 * And the WAL's writes, gathered: SQLite writes a frame as two writes (its header, its page),
 * 300 pwrite calls for a commit of 150 pages on the writer thread. A WAL file opened through
 * this VFS collects writes that follow each other into one buffer of up to 124 KiB and writes
 * it at once; the commit frame is written before SQLite publishes the commit, so what others
 * read and what fails is as before (sqlite_vfs.c, "the WAL's writes, gathered"). */
#ifndef KOPILKA_STORE_SQLITE_VFS_H
#define KOPILKA_STORE_SQLITE_VFS_H

#include <stdbool.h>

#include <sqlite3.h>

#include "core/util.h"

/* The VFS's name, for sqlite3_open_v2. */
#define SQLITE_VFS_NAME "kopilka-unix"

/* Registers the VFS (not as the default). Once per process, before the first open through
 * it; false when SQLite has no unix VFS or refuses (then open with the default VFS). */
bool sqlite_vfs_register(void) MUST_CHECK;

/* Whether the file (opened through the VFS) has the fence-only barrier. For tests. */
bool sqlite_vfs_file_is_ours(sqlite3_file *f);

/* Whether the file is a WAL file whose writes the VFS gathers. For tests. */
bool sqlite_vfs_file_gathers_writes(sqlite3_file *f);

/* The writes the VFS has made to WAL files since the process started (each a pwrite). For
 * tests. */
long sqlite_vfs_wal_writes(void);

#endif
