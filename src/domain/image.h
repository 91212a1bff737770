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

/* "png", "jpg", "webp"; NULL for IMAGE_NONE. */
const char *image_extension(enum image_type type);
/* "image/png", "image/jpeg", "image/webp"; NULL for IMAGE_NONE. */
const char *image_content_type(enum image_type type);

/* The type a stored image's name stands for when the name is exactly 32 lowercase hex digits,
 * a dot and the extension of a type; IMAGE_NONE for any other string (a path separator, a
 * dot segment, upper case, another extension...). */
enum image_type image_name_type(const char *name);

#endif
