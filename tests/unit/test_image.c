/* Unit tests of domain/image: an image is what its first bytes say (a renamed GIF or a text is
 * not an image), and only names of exactly the stored shape are ever turned into a file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
