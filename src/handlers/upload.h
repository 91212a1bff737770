/* Image uploads (API.md 4.4): the multipart body of an upload route read, checked and written
 * to a durable file before the handler's transaction points logoPath or imagePath at it, and
 * the clean-up after that transaction (the replaced file when it committed, the new one when it
 * did not). A crash between the two leaves at most an unreferenced file, never a reference to
 * a missing one. */
#ifndef KOPILKA_HANDLERS_UPLOAD_H
#define KOPILKA_HANDLERS_UPLOAD_H

#include "api/call.h"
#include "domain/image.h"

/* Where the images are served (GET, public): MEDIA_PATH followed by the file's name. */
#define MEDIA_PATH API_BASE "/media/"
#define MEDIA_PATH_MAX (sizeof(MEDIA_PATH) + IMAGE_NAME_MAX)

/* One change of an image reference, set up by upload_receive (a new image) or zeroed (a
 * removal), filled in by the handler's transaction, finished by upload_finish. */
struct upload {
	char name[IMAGE_NAME_MAX + 1]; /* the new file in the media directory; "" for a removal */
	char path[MEDIA_PATH_MAX];     /* its served path (what the object will hold); "" too */
	char *old_path;		       /* the path the object held before; set (owned) by the tx */
};

/* Reads the image in the multipart/form-data part `field` of the request, checks it (415 not
 * multipart/form-data; 413 over API_UPLOAD_FILE_MAX; 400 a bad boundary, a malformed body, the
 * part missing or given twice, an empty file or one that is not PNG, JPEG or WebP by its
 * content) and writes it durably to the media directory; c->idem_payload is pointed at it.
 * False after writing the error response. */
bool upload_receive(struct call *c, const char *field, struct upload *up) MUST_CHECK;

/* After call_write_tx: when the transaction committed, removes the file up->old_path names
 * (unless it is the new one); otherwise removes the new file. Frees up->old_path. */
void upload_finish(struct call *c, struct upload *up);

#endif
