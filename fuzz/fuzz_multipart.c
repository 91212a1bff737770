/* libFuzzer target: the multipart/form-data parser of the image uploads (domain/multipart):
 * the boundary out of a Content-Type and the one pass over the body. Whatever it is given, it
 * must stay inside the body, and a part it returns must lie within it.
 *
 * Input: a first line, the Content-Type header value; the rest, the body. Parts named "image"
 * and "logo" (the two upload routes) are looked for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/multipart.h"

static void find(const char *body, size_t len, const char *boundary, const char *name)
{
	struct multipart_part part = {0};
	int n_found = -1;
	const char *why = NULL;
	if (multipart_find(body, len, boundary, name, &part, &n_found, &why)) {
		if (n_found < 0 || n_found > MULTIPART_PARTS_MAX)
			abort();
		if (n_found > 0 && (!part.data || part.data < body || part.len > len ||
				    part.data + part.len > body + len))
			abort();
		if (n_found == 0 && part.data)
			abort();
	} else if (!why || !*why) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t ct_len = nl ? (size_t)(nl - text) : size;
	char *content_type = xstrndup(text, ct_len);
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	enum multipart_ct rc = multipart_content_type(content_type, boundary);
	if (rc == MULTIPART_CT_OK) {
		size_t n = strlen(boundary);
		if (n < 1 || n > MULTIPART_BOUNDARY_MAX)
			abort();
		/* The body in its own allocation, so ASan sees any read past its end. */
		size_t len = nl ? size - ct_len - 1 : 0;
		char *body = xmalloc(len ? len : 1);
		if (len)
			memcpy(body, nl + 1, len);
		find(body, len, boundary, "image");
		find(body, len, boundary, "logo");
		free(body);
	} else if (*boundary) {
		abort();
	}
	free(content_type);
	return 0;
}
