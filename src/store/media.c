/* Image files on disk (see media.h). */
#include "store/media.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"

void media_default_dir(const char *db, char *out, size_t cap)
{
	const char *slash = db && store_uri_is_file(db) ? strrchr(db, '/') : NULL;
	if (!slash)
		snprintf(out, cap, "media");
	else if (slash == db)
		snprintf(out, cap, "/media");
	else
		snprintf(out, cap, "%.*s/media", (int)(slash - db), db);
}

/* A full disk, a quota and a read-only filesystem pass, like SQLite's FULL and READONLY
 * (503 both): the same request succeeds once the operator frees space or remounts. */
static enum media_rc rc_of(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EROFS ? MEDIA_FULL : MEDIA_ERROR;
}

/* Makes dir and its missing parents (0755). */
static bool make_dirs(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return false;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return false;
		*p = '/';
	}
	return mkdir(path, 0755) == 0 || errno == EEXIST;
}

static bool fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = fsync(fd) == 0;
	int saved = errno;
	close(fd);
	errno = saved;
	return ok;
}

static bool write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

enum media_rc media_save(const char *dir, const void *data, size_t len, enum image_type type,
			 char *name)
{
	char tmp[PATH_MAX], final[PATH_MAX], hex[IMAGE_NAME_HEX + 1];
	name[0] = '\0';
	random_hex(hex, IMAGE_NAME_HEX / 2);
	if (snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, hex) >= (int)sizeof(tmp))
		return MEDIA_ERROR;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ENOENT && make_dirs(dir)) {
		/* A new directory must itself survive a crash: sync its parent too. */
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s/..", dir);
		(void)fsync_dir(parent);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (fd < 0) {
		int err = errno;
		log_error("media: cannot create a file in %s: %s", dir, strerror(err));
		return rc_of(err);
	}
	/* The final name is drawn afresh: the temporary one was visible in the directory. */
	random_hex(hex, IMAGE_NAME_HEX / 2);
	char new_name[IMAGE_NAME_MAX + 1];
	snprintf(new_name, sizeof(new_name), "%s.%s", hex, image_extension(type));
	snprintf(final, sizeof(final), "%s/%s", dir, new_name);
	bool ok = write_all(fd, data, len) && fsync(fd) == 0;
	int err = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		err = errno;
	}
	if (ok && rename(tmp, final) != 0) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		unlink(tmp);
		log_error("media: cannot write a file in %s: %s", dir, strerror(err));
		return rc_of(err);
	}
	if (!fsync_dir(dir)) {
		err = errno;
		unlink(final);
		log_error("media: cannot sync the directory %s: %s", dir, strerror(err));
		return rc_of(err);
	}
	memcpy(name, new_name, strlen(new_name) + 1);
	return MEDIA_OK;
}

void media_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];
	if (!name || image_name_type(name) == IMAGE_NONE)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (unlink(path) != 0 && errno != ENOENT)
		log_warn("media: cannot remove %s from %s: %s", name, dir, strerror(errno));
}

bool media_read(const char *dir, const char *name, size_t max, struct buf *out)
{
	char path[PATH_MAX];
	buf_reset(out);
	if (image_name_type(name) == IMAGE_NONE)
		return false;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	bool ok =
	    fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max;
	char chunk[65536];
	ssize_t got = 0;
	while (ok && (got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || out->len + (size_t)got > max)
			ok = false;
		else
			buf_append(out, chunk, (size_t)got);
	}
	if (fd >= 0)
		close(fd);
	if (!ok)
		buf_reset(out);
	return ok;
}
