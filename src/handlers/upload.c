/* Image uploads and the public media route (see upload.h). */
#include "handlers/upload.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "domain/multipart.h"
#include "handlers/handlers.h"
#include "store/media.h"

bool upload_receive(struct call *c, const char *field, struct upload *up)
{
	const struct request *req = c->req;
	memset(up, 0, sizeof(*up));
	if (req->body_too_large) {
		call_error(
		    c, 413, "payload_too_large",
		    "%s: the request body exceeds %d bytes; the image may be at most %d bytes "
		    "(2 MiB)",
		    field, API_UPLOAD_BODY_MAX, API_UPLOAD_FILE_MAX);
		return false;
	}
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	switch (multipart_content_type(req->content_type, boundary)) {
	case MULTIPART_CT_OK:
		break;
	case MULTIPART_CT_OTHER:
		call_error(c, 415, "unsupported_media_type",
			   "Content-Type must be multipart/form-data (the image in the part %s)",
			   field);
		return false;
	case MULTIPART_CT_BAD_BOUNDARY:
		call_error(
		    c, 400, "validation_failed",
		    "%s: the multipart/form-data Content-Type needs one boundary parameter of 1 "
		    "to 70 characters",
		    field);
		return false;
	}
	struct multipart_part part;
	int n_found = 0;
	const char *why = NULL;
	if (!multipart_find(req->body ? req->body : "", req->body_len, boundary, field, &part,
			    &n_found, &why)) {
		call_error(c, 400, "validation_failed",
			   "%s: malformed multipart/form-data body: %s", field, why);
		return false;
	}
	if (n_found == 0) {
		call_error(
		    c, 400, "validation_failed",
		    "%s: is required (a multipart/form-data part named %s holding the image)",
		    field, field);
		return false;
	}
	if (n_found > 1) {
		call_error(c, 400, "validation_failed", "%s: must be given once, not %d times",
			   field, n_found);
		return false;
	}
	if (part.len > API_UPLOAD_FILE_MAX) {
		call_error(c, 413, "payload_too_large",
			   "%s: the image is %zu bytes; it may be at most %d bytes (2 MiB)", field,
			   part.len, API_UPLOAD_FILE_MAX);
		return false;
	}
	enum image_type type = image_sniff((const unsigned char *)part.data, part.len);
	if (type == IMAGE_NONE) {
		call_error(c, 400, "validation_failed",
			   "%s: must be a PNG, JPEG or WebP image (judged by its content, not its "
			   "name or declared type)%s",
			   field, part.len == 0 ? "; the file is empty" : "");
		return false;
	}
	unsigned long width = 0, height = 0;
	switch (
	    image_dimensions((const unsigned char *)part.data, part.len, type, &width, &height)) {
	case IMAGE_DIMS_OK:
		break;
	case IMAGE_DIMS_UNREADABLE:
		call_error(c, 400, "validation_failed",
			   "%s: the %s image's width and height cannot be read from its header",
			   field, image_extension(type));
		return false;
	case IMAGE_DIMS_TOO_LARGE:
		call_error(
		    c, 400, "validation_failed",
		    "%s: the image is %lu x %lu pixels; it may be at most %d pixels a side and "
		    "%lld pixels in all",
		    field, width, height, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
		return false;
	}
	switch (media_save(c->app->media_dir, part.data, part.len, type, up->name)) {
	case MEDIA_OK:
		break;
	case MEDIA_FULL:
		log_error("request %s: the media directory is full or read-only", req->request_id);
		call_error(c, 503, "unavailable", "no room to store the image now; retry later");
		return false;
	case MEDIA_ERROR:
		log_error("request %s: could not store an uploaded image", req->request_id);
		call_store_error(c, STORE_ERROR);
		return false;
	}
	snprintf(up->path, sizeof(up->path), "%s%s", MEDIA_PATH, up->name);
	c->idem_payload = part.data;
	c->idem_payload_len = part.len;
	return true;
}

/* The file name a served path stands for, or NULL when it is not one of ours. */
static const char *name_of(const char *path)
{
	size_t n = strlen(MEDIA_PATH);
	if (!path || strncmp(path, MEDIA_PATH, n) != 0 || image_name_type(path + n) == IMAGE_NONE)
		return NULL;
	return path + n;
}

void upload_finish(struct call *c, struct upload *up)
{
	const char *dir = c->app->media_dir;
	if (c->committed) {
		const char *old = name_of(up->old_path);
		if (old && strcmp(old, up->name) != 0)
			media_remove(dir, old);
	} else if (*up->name) {
		media_remove(dir, up->name);
	}
	free(up->old_path);
	up->old_path = NULL;
}

/* GET /ext/api/v1/media/{file} (public): an uploaded image. Names are checked strictly (32
 * hex digits and a known extension) before they touch the file system; anything else is 404. */
void media_get(struct call *c)
{
	enum image_type type = c->file ? image_name_type(c->file) : IMAGE_NONE;
	if (type == IMAGE_NONE ||
	    !media_read(c->app->media_dir, c->file, API_UPLOAD_FILE_MAX, &c->resp->body)) {
		call_error(c, 404, "not_found", "no such image");
		return;
	}
	c->resp->status = 200;
	c->resp->content_type = image_content_type(type);
	response_header(c->resp, "X-Content-Type-Options", "nosniff");
	/* A name is never reused for other content. */
	response_header(c->resp, "Cache-Control", "public, max-age=31536000, immutable");
	response_header(c->resp, "Content-Security-Policy", "default-src 'none'; sandbox");
}
