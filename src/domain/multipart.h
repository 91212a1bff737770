/* multipart/form-data (RFC 7578 over RFC 2046's multipart syntax), the body of the image
 * uploads: the boundary taken from the Content-Type, then one pass over the whole body that
 * checks its structure and finds the part with a given name. Pure and bounded: no allocation,
 * no I/O, linear in the body; what it returns points into the caller's body. */
#ifndef KOPILKA_DOMAIN_MULTIPART_H
#define KOPILKA_DOMAIN_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2046: a boundary is 1 to 70 characters. */
#define MULTIPART_BOUNDARY_MAX 70
/* Most parts one body may have, and most bytes of one part's header block. */
#define MULTIPART_PARTS_MAX 64
#define MULTIPART_HEADERS_MAX 8192

enum multipart_ct {
	MULTIPART_CT_OK,	   /* multipart/form-data with a usable boundary */
	MULTIPART_CT_OTHER,	   /* another media type (or none): 415 */
	MULTIPART_CT_BAD_BOUNDARY, /* multipart/form-data, but no, a repeated or a bad boundary */
};

/* Reads a Content-Type header value (NULL: absent). On MULTIPART_CT_OK, boundary holds the
 * boundary parameter, unquoted (MULTIPART_BOUNDARY_MAX+1 bytes); otherwise it is empty. The
 * media type and parameter names are compared case-insensitively; the boundary must be 1 to
 * 70 of RFC 2046's bchars and not end in a space. */
enum multipart_ct multipart_content_type(const char *content_type, char *boundary);

struct multipart_part {
	const char *data; /* the part's content, inside the body; NULL when not found */
	size_t len;
};

/* Checks the whole body (delimiters on their own CRLF-terminated lines, every part with a
 * `Content-Disposition: form-data` header naming it, the closing delimiter present; the
 * preamble and epilogue are ignored) and finds the parts named `name`: *n_found counts them,
 * *part is the first (or {NULL, 0}). Parts of other names are skipped. Returns false when the
 * body is malformed; *why is then a static message saying how ("the closing boundary is
 * missing (truncated body?)"), and *part and *n_found are not meaningful. */
bool multipart_find(const char *body, size_t len, const char *boundary, const char *name,
		    struct multipart_part *part, int *n_found, const char **why);

#endif
