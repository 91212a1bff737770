/* libFuzzer target: telling an upload's image type by its first bytes (image_sniff) and
 * reading its declared width and height (image_dimensions, bounded), checking a stored image's
 * name (image_name_type, the media route's guard against paths):
 * a type found has its extension and content type; a name accepted is exactly 32 lowercase hex
 * digits, a dot and that type's extension.
 *
 * Input: the bytes of an upload; the same bytes (up to a NUL) as a requested file name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "domain/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Its own allocation of exactly size bytes: ASan sees any read past the end. */
	unsigned char *copy = xmalloc(size ? size : 1);
	memcpy(copy, data, size);
	enum image_type t = image_sniff(copy, size);
	unsigned long width = 0, height = 0;
	enum image_dims_rc dims = image_dimensions(copy, size, t, &width, &height);
	free(copy);
	if (dims == IMAGE_DIMS_OK &&
	    (t == IMAGE_NONE || width == 0 || height == 0 || width > IMAGE_MAX_SIDE ||
	     height > IMAGE_MAX_SIDE || (long long)width * (long long)height > IMAGE_MAX_PIXELS))
		abort();
	if (t != IMAGE_NONE && (!image_extension(t) || !image_content_type(t)))
		abort();

	char *name = xstrndup((const char *)data, size);
	enum image_type nt = image_name_type(name);
	if (nt != IMAGE_NONE) {
		const char *ext = image_extension(nt);
		size_t n = strlen(name);
		if (!ext || n != IMAGE_NAME_HEX + 1 + strlen(ext) || n > IMAGE_NAME_MAX ||
		    strspn(name, "0123456789abcdef") != IMAGE_NAME_HEX ||
		    name[IMAGE_NAME_HEX] != '.' || strcmp(name + IMAGE_NAME_HEX + 1, ext) != 0 ||
		    strchr(name, '/'))
			abort();
	}
	free(name);
	return 0;
}
