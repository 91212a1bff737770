/* The scheduled backups of serve (see backups.h). */
#include "service/backups.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "store/backup.h"
#include "store/store.h"

/* After a failed copy, the next try comes after this long at most (or --backup-every when
 * shorter): a daily schedule does not wait a day after a full disk was cleared. */
#define RETRY_MS (5 * 60 * 1000)

struct backup_schedule {
	char *db_path, *dir;
	int64_t every_ms, keep;
	pthread_t thread;
	pthread_mutex_t mu; /* guards stop; with cv */
	pthread_cond_t cv;
	bool stop;
	atomic_bool stopping; /* read by the copy between its batches */
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool keep_copying(void *ctx, int64_t done, int64_t total)
{
	(void)done, (void)total;
	struct backup_schedule *bs = ctx;
	return !atomic_load(&bs->stopping);
}

/* One scheduled copy, its outcome logged and counted; true when it was written. */
static bool backup_once(struct backup_schedule *bs)
{
	char out[PATH_MAX];
	int64_t at = wall_ms();
	backup_scheduled_path(bs->dir, at, out, sizeof(out));
	struct backup_result res;
	char err[PATH_MAX + 256];
	if (!backup_copy(bs->db_path, out, keep_copying, bs, &res, err, sizeof(err))) {
		if (atomic_load(&bs->stopping))
			return false; /* abandoned: the server is stopping */
		metrics_backup_failed();
		log_error("scheduled backup failed: %s", err);
		return false;
	}
	metrics_backup_done(wall_ms(), res.bytes, res.duration_us);
	log_info("scheduled backup written: %s (%lld bytes, %lld pages, %.3f s)", out,
		 (long long)res.bytes, (long long)res.pages, (double)res.duration_us / 1e6);
	int removed = backup_prune(bs->dir, bs->keep, err, sizeof(err));
	if (removed < 0)
		log_warn("pruning the scheduled backups failed: %s", err);
	else if (removed > 0)
		log_info("deleted %d scheduled backup(s) beyond --backup-keep %lld", removed,
			 (long long)bs->keep);
	return true;
}

static void *schedule_main(void *arg)
{
	struct backup_schedule *bs = arg;
	int64_t newest = backup_newest_ms(bs->dir);
	int64_t next = newest ? newest + bs->every_ms : 0;
	pthread_mutex_lock(&bs->mu);
	while (!bs->stop) {
		int64_t now = wall_ms();
		if (now < next) {
			struct timespec until = {.tv_sec = next / 1000,
						 .tv_nsec = (long)(next % 1000) * 1000000};
			pthread_cond_timedwait(&bs->cv, &bs->mu, &until);
			continue;
		}
		pthread_mutex_unlock(&bs->mu);
		bool ok = backup_once(bs);
		int64_t wait = ok || bs->every_ms < RETRY_MS ? bs->every_ms : RETRY_MS;
		next = wall_ms() + wait;
		pthread_mutex_lock(&bs->mu);
	}
	pthread_mutex_unlock(&bs->mu);
	return NULL;
}

struct backup_schedule *backup_schedule_start(const char *db_path, const char *dir, int64_t every_s,
					      int64_t keep, char *err, size_t err_len)
{
	if (!store_uri_is_file(db_path)) {
		snprintf(err, err_len, "--backup-dir applies to SQLite databases only. %s",
			 BACKUP_PG_ADVICE);
		return NULL;
	}
	struct stat sb;
	if (stat(dir, &sb) != 0 && (errno != ENOENT || mkdir(dir, 0700) != 0)) {
		snprintf(err, err_len, "--backup-dir %s: cannot create it: %s", dir,
			 strerror(errno));
		return NULL;
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(dir, W_OK | X_OK) != 0) {
		snprintf(err, err_len, "--backup-dir %s must be a directory this process can write",
			 dir);
		return NULL;
	}
	struct backup_schedule *bs = xcalloc(1, sizeof(*bs));
	bs->db_path = xstrdup(db_path);
	bs->dir = xstrdup(dir);
	bs->every_ms = every_s * 1000;
	bs->keep = keep;
	pthread_mutex_init(&bs->mu, NULL);
	pthread_cond_init(&bs->cv, NULL);
	if (pthread_create(&bs->thread, NULL, schedule_main, bs) != 0) {
		snprintf(err, err_len, "cannot start the backup thread");
		pthread_mutex_destroy(&bs->mu);
		pthread_cond_destroy(&bs->cv);
		free(bs->db_path);
		free(bs->dir);
		free(bs);
		return NULL;
	}
	return bs;
}

void backup_schedule_stop(struct backup_schedule *bs)
{
	if (!bs)
		return;
	atomic_store(&bs->stopping, true);
	pthread_mutex_lock(&bs->mu);
	bs->stop = true;
	pthread_cond_signal(&bs->cv);
	pthread_mutex_unlock(&bs->mu);
	pthread_join(bs->thread, NULL);
	pthread_mutex_destroy(&bs->mu);
	pthread_cond_destroy(&bs->cv);
	free(bs->db_path);
	free(bs->dir);
	free(bs);
}
