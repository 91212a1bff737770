/* What an uploaded image is, told by its first bytes (never by a declared type or a file name),
 * and the names the stored images get: 32 random lowercase hex digits and the extension of
 * their type, so a name is unguessable and can be checked strictly before it touches a path. */
#ifndef KOPILKA_DOMAIN_IMAGE_H
#define KOPILKA_DOMAIN_IMAGE_H

#include <stddef.h>

enum image_type {
	IMAGE_NONE = 0,
	IMAGE_PNG,
	IMAGE_JPEG,
	IMAGE_WEBP,
};

/* Length of a stored image's name: 32 hex digits, '.', at most 4 extension letters. */
#define IMAGE_NAME_HEX 32
#define IMAGE_NAME_MAX (IMAGE_NAME_HEX + 5)

/* The type of an image by its signature: PNG (the 8-byte signature, then the IHDR chunk),
 * JPEG (SOI then a marker: FF D8 FF), WebP (a RIFF container of form WEBP whose first chunk
 * is VP8, VP8L or VP8X). Anything else, GIF included, is IMAGE_NONE. */
enum image_type image_sniff(const unsigned char *data, size_t len);

/* Bounds on an image's size in pixels: a header may claim 2^31-1 x 2^31-1, and whoever decodes
 * the image (a browser, a POS screen) would have to allocate for it. Logos and coupon images
 * need far less. */
#define IMAGE_MAX_SIDE 8192
#define IMAGE_MAX_PIXELS (4096LL * 4096LL) /* 16 megapixels */

enum image_dims_rc {
	IMAGE_DIMS_OK = 0,
	IMAGE_DIMS_UNREADABLE, /* no width and height where the format keeps them, or a 0 */
	IMAGE_DIMS_TOO_LARGE,  /* a side over IMAGE_MAX_SIDE or more than IMAGE_MAX_PIXELS */
};

/* Reads the width and height an image of `type` (from image_sniff) declares: PNG's IHDR, the
 * first JPEG start-of-frame marker (segments walked by their lengths, never past len), WebP's
 * VP8/VP8L/VP8X header. *width and *height are set whenever they were read, also when too
 * large. */
enum image_dims_rc image_dimensions(const unsigned char *data, size_t len, enum image_type type,
				    unsigned long *width, unsigned long *height);

/* "png", "jpg", "webp"; NULL for IMAGE_NONE. */
const char *image_extension(enum image_type type);
/* "image/png", "image/jpeg", "image/webp"; NULL for IMAGE_NONE. */
const char *image_content_type(enum image_type type);

/* The type a stored image's name stands for when the name is exactly 32 lowercase hex digits,
 * a dot and the extension of a type; IMAGE_NONE for any other string (a path separator, a
 * dot segment, upper case, another extension...). */
enum image_type image_name_type(const char *name);

#endif
