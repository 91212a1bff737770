/* Image signatures and stored image names (see image.h). */
#include "domain/image.h"

#include <stdbool.h>
#include <string.h>

static unsigned long be16(const unsigned char *p)
{
	return (unsigned long)p[0] << 8 | p[1];
}

static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 |
	       p[3];
}

static unsigned long le24(const unsigned char *p)
{
	return (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16;
}

/* JPEG: markers from offset 2 on; every segment but the standalone markers (TEM, RSTn) carries
 * a 2-byte length. A start-of-frame (SOF0..SOF15 but DHT C4, JPG C8, DAC CC) holds precision,
 * height and width; one must come before the scan (SOS) or the end (EOI). */
static bool jpeg_dimensions(const unsigned char *d, size_t len, unsigned long *w, unsigned long *h)
{
	size_t i = 2;
	while (i + 1 < len) {
		if (d[i] != 0xff)
			return false;
		unsigned char marker = d[i + 1];
		if (marker == 0xff) { /* fill byte */
			i++;
			continue;
		}
		i += 2;
		if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
			continue;
		if (marker == 0xd9 || marker == 0xda || marker == 0xd8 || marker == 0x00)
			return false;
		if (i + 2 > len)
			return false;
		size_t seg = be16(d + i);
		if (seg < 2 || i + seg > len)
			return false;
		bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
			   marker != 0xcc;
		if (sof) {
			if (seg < 7)
				return false;
			*h = be16(d + i + 3);
			*w = be16(d + i + 5);
			return true;
		}
		i += seg;
	}
	return false;
}

/* WebP: the first chunk at offset 12 (see image_sniff), its payload at 20. */
static bool webp_dimensions(const unsigned char *d, size_t len, unsigned long *w, unsigned long *h)
{
	if (memcmp(d + 12, "VP8 ", 4) == 0) {
		/* A key frame: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height
		 * (the top 2 bits of each are a scale). */
		if (len < 30 || d[23] != 0x9d || d[24] != 0x01 || d[25] != 0x2a)
			return false;
		*w = ((unsigned long)d[26] | (unsigned long)d[27] << 8) & 0x3fff;
		*h = ((unsigned long)d[28] | (unsigned long)d[29] << 8) & 0x3fff;
		return true;
	}
	if (memcmp(d + 12, "VP8L", 4) == 0) {
		/* Signature 0x2f, then 14 bits width - 1 and 14 bits height - 1, little-endian. */
		if (len < 25 || d[20] != 0x2f)
			return false;
		unsigned long bits = (unsigned long)d[21] | (unsigned long)d[22] << 8 |
				     (unsigned long)d[23] << 16 | (unsigned long)d[24] << 24;
		*w = (bits & 0x3fff) + 1;
		*h = ((bits >> 14) & 0x3fff) + 1;
		return true;
	}
	/* VP8X: 4 bytes of flags, then 24 bits canvas width - 1 and 24 bits height - 1. */
	if (len < 30)
		return false;
	*w = le24(d + 24) + 1;
	*h = le24(d + 27) + 1;
	return true;
}

enum image_dims_rc image_dimensions(const unsigned char *d, size_t len, enum image_type type,
				    unsigned long *width, unsigned long *height)
{
	unsigned long w = 0, h = 0;
	bool found = false;
	if (type == IMAGE_PNG && len >= 24) {
		w = be32(d + 16);
		h = be32(d + 20);
		found = true;
	} else if (type == IMAGE_JPEG && len >= 3) {
		found = jpeg_dimensions(d, len, &w, &h);
	} else if (type == IMAGE_WEBP && len >= 16) {
		found = webp_dimensions(d, len, &w, &h);
	}
	if (!found)
		return IMAGE_DIMS_UNREADABLE;
	*width = w;
	*height = h;
	if (w == 0 || h == 0)
		return IMAGE_DIMS_UNREADABLE;
	if (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE ||
	    (long long)w * (long long)h > IMAGE_MAX_PIXELS)
		return IMAGE_DIMS_TOO_LARGE;
	return IMAGE_DIMS_OK;
}

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
