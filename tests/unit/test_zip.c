/* Unit tests of domain/zip: CRC-32 against the standard check value, and an archive read back
 * by its own records (the end record finds the central directory, each central header finds
 * its local header, sizes, CRCs and names agree), plus the refusals. Python's zipfile reads a
 * real pass in tests/api/test_wallet_apple.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "domain/zip.h"

static uint32_t get16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const unsigned char *p)
{
	return get16(p) | get16(p + 2) << 16;
}

static void test_crc32_check_value(void **state)
{
	assert_int_equal(zip_crc32("123456789", 9), 0xcbf43926u);
	assert_int_equal(zip_crc32("", 0), 0);
	assert_int_equal(zip_crc32("a", 1), 0xe8b7be43u);
}

static void test_archive_reads_back(void **state)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 0, 0xff, 1};
	const char *json = "{\"formatVersion\":1}";
	struct zip_entry in[] = {
	    {"pass.json", (const unsigned char *)json, strlen(json)},
	    {"icon.png", png, sizeof(png)},
	    {"empty", NULL, 0},
	};
	size_t len = 0;
	unsigned char *zip = zip_store(in, 3, &len);
	assert_non_null(zip);
	/* The end record is the last 22 bytes (no comment). */
	assert_true(len > 22);
	const unsigned char *end = zip + len - 22;
	assert_int_equal(get32(end), 0x06054b50u);
	assert_int_equal(get16(end + 8), 3);
	assert_int_equal(get16(end + 10), 3);
	uint32_t cd_len = get32(end + 12), cd_off = get32(end + 16);
	assert_int_equal(cd_off + cd_len, len - 22);
	const unsigned char *cd = zip + cd_off;
	size_t expected_local = 0;
	for (int i = 0; i < 3; i++) {
		size_t name_len = strlen(in[i].name);
		assert_int_equal(get32(cd), 0x02014b50u);
		assert_int_equal(get16(cd + 10), 0); /* stored */
		assert_int_equal(get32(cd + 16), zip_crc32(in[i].data, in[i].len));
		assert_int_equal(get32(cd + 20), in[i].len);
		assert_int_equal(get32(cd + 24), in[i].len);
		assert_int_equal(get16(cd + 28), name_len);
		assert_memory_equal(cd + 46, in[i].name, name_len);
		uint32_t local_off = get32(cd + 42);
		assert_int_equal(local_off, expected_local);
		const unsigned char *local = zip + local_off;
		assert_int_equal(get32(local), 0x04034b50u);
		assert_int_equal(get32(local + 14), get32(cd + 16));
		assert_int_equal(get16(local + 26), name_len);
		assert_int_equal(get16(local + 28), 0);
		assert_memory_equal(local + 30, in[i].name, name_len);
		if (in[i].len)
			assert_memory_equal(local + 30 + name_len, in[i].data, in[i].len);
		expected_local += 30 + name_len + in[i].len;
		cd += 46 + name_len;
	}
	assert_int_equal(expected_local, cd_off);
	assert_ptr_equal(cd, end);
	/* The same entries give the same bytes. */
	size_t len2 = 0;
	unsigned char *again = zip_store(in, 3, &len2);
	assert_non_null(again);
	assert_int_equal(len2, len);
	assert_memory_equal(again, zip, len);
	free(again);
	free(zip);
}

static void test_refusals(void **state)
{
	size_t len = 7;
	struct zip_entry ok = {"a", (const unsigned char *)"x", 1};
	assert_null(zip_store(&ok, 0, &len));
	struct zip_entry unnamed = {"", (const unsigned char *)"x", 1};
	assert_null(zip_store(&unnamed, 1, &len));
	struct zip_entry null_name = {NULL, (const unsigned char *)"x", 1};
	assert_null(zip_store(&null_name, 1, &len));
	struct zip_entry huge = {"big", (const unsigned char *)"x", (size_t)ZIP_MAX_BYTES + 1};
	assert_null(zip_store(&huge, 1, &len));
	assert_int_equal(len, 7); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32_check_value),
	    cmocka_unit_test(test_archive_reads_back),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
