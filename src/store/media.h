/* The image files behind logoPath and imagePath: one flat directory (--media-dir) of files
 * named as domain/image says (32 random hex digits and the extension of the type). A file is
 * durable before the database refers to it, and a name is checked strictly before it becomes
 * a path, so nothing outside the directory is ever read, written or removed. */
#ifndef KOPILKA_STORE_MEDIA_H
#define KOPILKA_STORE_MEDIA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/util.h"
#include "domain/image.h"

enum media_rc {
	MEDIA_OK,
	MEDIA_FULL,  /* no space or quota left, or a read-only filesystem: retry later */
	MEDIA_ERROR, /* anything else (logged) */
};

/* The directory used when --media-dir is empty: media/ beside a SQLite database file,
 * media/ in the working directory for a PostgreSQL URI. Written to out (cap bytes). */
void media_default_dir(const char *db, char *out, size_t cap);

/* Writes len bytes as a new file of `type` in dir (created with its parents when missing):
 * a temporary file (a dot name nothing serves), fsync, rename to a fresh random name, fsync of
 * the directory. On MEDIA_OK, name holds the new name (IMAGE_NAME_MAX+1 bytes); otherwise no
 * file is left behind and name is empty. */
enum media_rc media_save(const char *dir, const void *data, size_t len, enum image_type type,
			 char *name) MUST_CHECK;

/* Removes the file `name` from dir. A name that image_name_type() refuses is ignored; a file
 * already gone is fine; another failure is logged. */
void media_remove(const char *dir, const char *name);

/* Reads the regular file `name` (which image_name_type() must accept) of dir into out, when it
 * is at most max bytes. False when there is no such file; out is then empty. */
bool media_read(const char *dir, const char *name, size_t max, struct buf *out) MUST_CHECK;

#endif
