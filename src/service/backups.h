/* The scheduled backups of `kopilkad serve` (--backup-dir, --backup-every, --backup-keep): a
 * thread of its own copies the SQLite database into the directory at each interval, on a
 * connection of its own (store/backup.h), never under the writers' lock, prunes the directory
 * to the newest --backup-keep copies, and records each outcome in the metrics that /metrics and
 * /healthz show. */
#ifndef KOPILKA_SERVICE_BACKUPS_H
#define KOPILKA_SERVICE_BACKUPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

struct backup_schedule;

/* Starts the schedule for the SQLite database at db_path: the first copy once the newest one
 * in dir is every_s old (at once when there is none), then one every every_s. Creates dir when
 * it does not exist (its parent must). NULL with a message naming the flag in err when dir is
 * no usable directory or db_path is not a SQLite file. The caller stops it. */
struct backup_schedule *backup_schedule_start(const char *db_path, const char *dir, int64_t every_s,
					      int64_t keep, char *err, size_t err_len) MUST_CHECK;
/* Stops the thread (a copy under way is abandoned and its partial file deleted) and frees the
 * schedule. NULL is allowed. */
void backup_schedule_stop(struct backup_schedule *bs);

#endif
