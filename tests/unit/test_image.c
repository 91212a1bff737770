/* Unit tests of domain/image: an image is what its first bytes say (a renamed GIF or a text is
 * not an image), and only names of exactly the stored shape are ever turned into a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "domain/image.h"

#define SNIFF(lit) image_sniff((const unsigned char *)(lit), sizeof(lit) - 1)

static void test_sniff(void **state)
{
	(void)state;
	assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01"), IMAGE_PNG);
	assert_int_equal(SNIFF("\xff\xd8\xff\xe0\0\x10JFIF"), IMAGE_JPEG);
	assert_int_equal(SNIFF("\xff\xd8\xff"), IMAGE_JPEG);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0"), IMAGE_WEBP);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBPVP8L\x18\0\0\0"), IMAGE_WEBP);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBPVP8X\x0a\0\0\0"), IMAGE_WEBP);

	assert_int_equal(image_sniff(NULL, 0), IMAGE_NONE);
	assert_int_equal(SNIFF("GIF89a\x01\0\x01\0"), IMAGE_NONE);
	assert_int_equal(SNIFF("GIF87a\x01\0\x01\0"), IMAGE_NONE);
	assert_int_equal(SNIFF("hello, this is text"), IMAGE_NONE);
	assert_int_equal(SNIFF("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), IMAGE_NONE);
	/* Cut signatures and near misses. */
	assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n"), IMAGE_NONE);
	assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIDAT\0\0\0\x01"), IMAGE_NONE);
	assert_int_equal(SNIFF("\x89PNG\n\x1a\n\0\0\0\0\rIHDR\0\0\0"), IMAGE_NONE);
	assert_int_equal(SNIFF("\xff\xd8"), IMAGE_NONE);
	assert_int_equal(SNIFF("\xff\xd9\xff\xe0"), IMAGE_NONE);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WAVEfmt \x10\0\0\0"), IMAGE_NONE);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBPVP9 \x18\0\0\0"), IMAGE_NONE);
	assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBP"), IMAGE_NONE);
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(image_extension(IMAGE_PNG), "png");
	assert_string_equal(image_extension(IMAGE_JPEG), "jpg");
	assert_string_equal(image_extension(IMAGE_WEBP), "webp");
	assert_null(image_extension(IMAGE_NONE));
	assert_string_equal(image_content_type(IMAGE_PNG), "image/png");
	assert_string_equal(image_content_type(IMAGE_JPEG), "image/jpeg");
	assert_string_equal(image_content_type(IMAGE_WEBP), "image/webp");
	assert_null(image_content_type(IMAGE_NONE));
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(image_name_type("0123456789abcdef0123456789abcdef.png"), IMAGE_PNG);
	assert_int_equal(image_name_type("0123456789abcdef0123456789abcdef.jpg"), IMAGE_JPEG);
	assert_int_equal(image_name_type("ffffffffffffffffffffffffffffffff.webp"), IMAGE_WEBP);
	assert_true(strlen("ffffffffffffffffffffffffffffffff.webp") <= IMAGE_NAME_MAX);

	static const char *const refused[] = {
	    "",
	    ".",
	    "..",
	    "../../etc/passwd",
	    "0123456789abcdef0123456789abcdef",
	    "0123456789abcdef0123456789abcdef.",
	    "0123456789abcdef0123456789abcdef.gif",
	    "0123456789abcdef0123456789abcdef.jpeg",
	    "0123456789abcdef0123456789abcdef.PNG",
	    "0123456789ABCDEF0123456789abcdef.png",
	    "0123456789abcdef0123456789abcde.png",
	    "0123456789abcdef0123456789abcdef0.png",
	    "0123456789abcdef0123456789abcdef.png/",
	    "0123456789abcdef0123456789abcdef.png.txt",
	    "0123456789abcdef0123456789abcdef.pn",
	    "/123456789abcdef0123456789abcdef.png",
	    "0123456789abcdef0123456789abcde/.png",
	    ".tmp-0123456789abcdef0123456789abcdef",
	    "g123456789abcdef0123456789abcdef.png",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (image_name_type(refused[i]) != IMAGE_NONE)
			fail_msg("name \"%s\" accepted", refused[i]);
}

/* image_dimensions of a literal, its type sniffed first. */
static enum image_dims_rc dims(const char *lit, size_t n, unsigned long *w, unsigned long *h)
{
	*w = *h = 0;
	const unsigned char *d = (const unsigned char *)lit;
	return image_dimensions(d, n, image_sniff(d, n), w, h);
}
#define DIMS(lit, w, h) dims((lit), sizeof(lit) - 1, (w), (h))

static void test_dimensions(void **state)
{
	(void)state;
	unsigned long w, h;
	/* PNG: IHDR width and height, big-endian. */
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\x00\0\0\0\x80", &w, &h),
			 IMAGE_DIMS_OK);
	assert_int_equal(w, 256);
	assert_int_equal(h, 128);
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x20\x00\0\0\x20\x00", &w, &h),
			 IMAGE_DIMS_TOO_LARGE); /* 8192 x 8192: each side allowed, 64 MP not */
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x20\x00\0\0\x08\x00", &w, &h),
			 IMAGE_DIMS_OK); /* 8192 x 2048 = 16 MP */
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x20\x01\0\0\0\x01", &w, &h),
			 IMAGE_DIMS_TOO_LARGE); /* 8193 x 1 */
	assert_int_equal(
	    DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff", &w, &h),
	    IMAGE_DIMS_TOO_LARGE);
	assert_int_equal(w, 2147483647UL);
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\0\0\0\0\x01", &w, &h),
			 IMAGE_DIMS_UNREADABLE);
	assert_int_equal(DIMS("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", &w, &h),
			 IMAGE_DIMS_UNREADABLE); /* cut before the height */
	/* JPEG: APP0 skipped by its length, then SOF0 (precision, height, width). */
	assert_int_equal(DIMS("\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
			      "\xff\xc0\0\x0b\x08\x02\x58\x03\x20\x01\x01\x11\0",
			      &w, &h),
			 IMAGE_DIMS_OK);
	assert_int_equal(w, 800);
	assert_int_equal(h, 600);
	/* A progressive frame (SOF2) after a DHT (C4, not a frame) and fill bytes. */
	assert_int_equal(DIMS("\xff\xd8\xff\xc4\0\x04\0\0\xff\xff\xff\xc2\0\x0b\x08\0\x10\0\x20\x01"
			      "\x01\x11\0",
			      &w, &h),
			 IMAGE_DIMS_OK);
	assert_int_equal(w, 32);
	assert_int_equal(h, 16);
	assert_int_equal(DIMS("\xff\xd8\xff\xc0\0\x0b\x08\xff\xff\xff\xff\x01\x01\x11\0", &w, &h),
			 IMAGE_DIMS_TOO_LARGE);
	assert_int_equal(DIMS("\xff\xd8\xff\xc0\0\x0b\x08\0\0\0\x10\x01\x01\x11\0", &w, &h),
			 IMAGE_DIMS_UNREADABLE); /* height 0: defined later by DNL */
	assert_int_equal(
	    DIMS("\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9", &w, &h),
	    IMAGE_DIMS_UNREADABLE); /* no frame before the end */
	assert_int_equal(DIMS("\xff\xd8\xff\xda\0\x08\x01\x01\0\0\x3f\0", &w, &h),
			 IMAGE_DIMS_UNREADABLE); /* a scan before any frame */
	assert_int_equal(DIMS("\xff\xd8\xff\xe0\xff\xff", &w, &h),
			 IMAGE_DIMS_UNREADABLE); /* a length past the end */
	assert_int_equal(DIMS("\xff\xd8\xff\xc0\0\x05\x08\0\x10", &w, &h), IMAGE_DIMS_UNREADABLE);
	/* WebP lossy: key frame start code, 14-bit sides. */
	assert_int_equal(
	    DIMS("RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0\x30\x01\0\x9d\x01\x2a\x40\x01\xf0\x00", &w, &h),
	    IMAGE_DIMS_OK);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	assert_int_equal(
	    DIMS("RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0\x30\x01\0\x9d\x01\x2b\x40\x01\xf0\x00", &w, &h),
	    IMAGE_DIMS_UNREADABLE);
	/* WebP lossless: 0x2f, then width-1 and height-1 in 14 bits each. 1 x 1, then 16384 x
	 * 16384. */
	assert_int_equal(DIMS("RIFF\x24\0\0\0WEBPVP8L\x18\0\0\0\x2f\0\0\0\0", &w, &h),
			 IMAGE_DIMS_OK);
	assert_int_equal(w, 1);
	assert_int_equal(h, 1);
	assert_int_equal(DIMS("RIFF\x24\0\0\0WEBPVP8L\x18\0\0\0\x2f\xff\xff\xff\x0f", &w, &h),
			 IMAGE_DIMS_TOO_LARGE);
	assert_int_equal(w, 16384);
	assert_int_equal(h, 16384);
	assert_int_equal(DIMS("RIFF\x24\0\0\0WEBPVP8L\x18\0\0\0\0\0\0\0\0", &w, &h),
			 IMAGE_DIMS_UNREADABLE);
	/* WebP extended: the canvas, 24 bits each. */
	assert_int_equal(DIMS("RIFF\x24\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\x3f\x01\0\xef\0\0", &w, &h),
			 IMAGE_DIMS_OK);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	assert_int_equal(
	    DIMS("RIFF\x24\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff", &w, &h),
	    IMAGE_DIMS_TOO_LARGE);
	assert_int_equal(image_dimensions(NULL, 0, IMAGE_NONE, &w, &h), IMAGE_DIMS_UNREADABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),
	    cmocka_unit_test(test_types),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_dimensions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
