/* Image signatures and stored image names (see image.h). */
#include "domain/image.h"

#include <string.h>

static const struct {
	const char *ext, *content_type;
} types[] = {
    [IMAGE_PNG] = {"png", "image/png"},
    [IMAGE_JPEG] = {"jpg", "image/jpeg"},
    [IMAGE_WEBP] = {"webp", "image/webp"},
};

enum image_type image_sniff(const unsigned char *d, size_t len)
{
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	/* PNG: the signature, then the first chunk, which is always IHDR (length, "IHDR"). */
	if (len >= 16 && memcmp(d, png, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0)
		return IMAGE_PNG;
	/* JPEG: the start-of-image marker followed by another marker. */
	if (len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return IMAGE_JPEG;
	/* WebP: "RIFF" size "WEBP", then a VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk.
	 */
	if (len >= 16 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0 &&
	    (memcmp(d + 12, "VP8 ", 4) == 0 || memcmp(d + 12, "VP8L", 4) == 0 ||
	     memcmp(d + 12, "VP8X", 4) == 0))
		return IMAGE_WEBP;
	return IMAGE_NONE;
}

const char *image_extension(enum image_type type)
{
	return type > IMAGE_NONE && type <= IMAGE_WEBP ? types[type].ext : NULL;
}

const char *image_content_type(enum image_type type)
{
	return type > IMAGE_NONE && type <= IMAGE_WEBP ? types[type].content_type : NULL;
}

enum image_type image_name_type(const char *name)
{
	for (int i = 0; i < IMAGE_NAME_HEX; i++) {
		char ch = name[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return IMAGE_NONE;
	}
	if (name[IMAGE_NAME_HEX] != '.')
		return IMAGE_NONE;
	const char *ext = name + IMAGE_NAME_HEX + 1;
	for (int t = IMAGE_PNG; t <= IMAGE_WEBP; t++)
		if (strcmp(ext, types[t].ext) == 0)
			return (enum image_type)t;
	return IMAGE_NONE;
}
