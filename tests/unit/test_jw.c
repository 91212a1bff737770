/* Unit tests of core/jw, the streaming JSON writer: integers and money print exactly (the
 * hand-written formatter), strings escape correctly on both the fast and the slow path, and
 * whatever it writes parses back with jansson to the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/jw.h"
#include "domain/money.h"

/* The document jw wrote for one value, as text. */
static void expect_int(int64_t v, const char *want)
{
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	jw_arr_begin(&w);
	jw_int(&w, v);
	jw_int(&w, v);
	jw_arr_end(&w);
	char doc[64];
	snprintf(doc, sizeof(doc), "[%s,%s]", want, want);
	assert_string_equal(b.data, doc);
	assert_int_equal(b.len, strlen(doc));
	json_error_t err;
	json_t *j = json_loads(b.data, 0, &err);
	assert_non_null(j);
	assert_true(json_is_integer(json_array_get(j, 1)));
	assert_int_equal(json_integer_value(json_array_get(j, 1)), v);
	json_decref(j);
	buf_free(&b);
}

static void test_integers(void **state)
{
	(void)state;
	expect_int(0, "0");
	expect_int(7, "7");
	expect_int(-7, "-7");
	expect_int(10, "10");
	expect_int(99, "99");
	expect_int(100, "100");
	expect_int(1234567890123, "1234567890123");
	expect_int(INT64_MAX, "9223372036854775807");
	expect_int(INT64_MIN, "-9223372036854775808");
	expect_int(INT64_MIN + 1, "-9223372036854775807");
}

static void expect_money(int64_t minor, const char *want)
{
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_begin(&w);
	jw_kmoney(&w, "amount", minor);
	jw_obj_end(&w);
	char doc[64];
	snprintf(doc, sizeof(doc), "{\"amount\":%s}", want);
	assert_string_equal(b.data, doc);
	json_error_t err;
	json_t *j = json_loads(b.data, JSON_DECODE_INT_AS_REAL, &err);
	assert_non_null(j);
	/* Exactly representable in a double for these magnitudes: the number means `minor`. */
	assert_true(json_real_value(json_object_get(j, "amount")) * 100 == (double)minor);
	json_decref(j);
	buf_free(&b);
}

static void test_money(void **state)
{
	(void)state;
	expect_money(0, "0");
	expect_money(10050, "100.5");
	expect_money(1000, "10");
	expect_money(123456, "1234.56");
	expect_money(-123456, "-1234.56");
	expect_money(-10050, "-100.5");
	expect_money(-5, "-0.05");
	expect_money(1, "0.01");
	expect_money(10, "0.1");
	expect_money(MONEY_MAX_MINOR, "1000000000000");
	expect_money(-MONEY_MAX_MINOR, "-1000000000000");
	/* Past the money range the text is still exact (not checked as a double). */
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	jw_kmoney(&w, "a", INT64_MIN);
	jw_kmoney(&w, "b", INT64_MAX);
	assert_string_equal(b.data, "\"a\":-92233720368547758.08,\"b\":92233720368547758.07");
	buf_free(&b);
}

static void expect_jstring(const char *s, const char *want)
{
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	jw_arr_begin(&w);
	jw_str(&w, s);
	jw_arr_end(&w);
	assert_int_equal(b.len, strlen(b.data));
	assert_true(b.len == strlen(want) + 2);
	assert_memory_equal(b.data + 1, want, strlen(want));
	json_error_t err;
	json_t *j = json_loads(b.data, 0, &err);
	if (!j)
		fail_msg("jansson rejects %s: %s", b.data, err.text);
	assert_string_equal(json_string_value(json_array_get(j, 0)), s);
	json_decref(j);
	buf_free(&b);
}

static void test_strings(void **state)
{
	(void)state;
	expect_jstring("", "\"\"");
	expect_jstring("plain", "\"plain\"");
	expect_jstring("Анна Иванова", "\"Анна Иванова\"");
	expect_jstring("a\"b", "\"a\\\"b\"");
	expect_jstring("\"", "\"\\\"\"");
	expect_jstring("back\\slash", "\"back\\\\slash\"");
	expect_jstring("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
	expect_jstring("\x01x\x1f", "\"\\u0001x\\u001f\"");
	expect_jstring("end\x7f", "\"end\x7f\"");
	expect_jstring("tail\n", "\"tail\\n\"");
	expect_jstring("\nhead", "\"\\nhead\"");
	/* Long strings cross the buffer's growth steps on both paths. */
	char longs[5000];
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 3; i++) {
		buf_reset(&b);
		jw_escape(&b, longs);
		/* 4999 bytes, two quotes, one backslash per quote planted so far. */
		assert_int_equal(b.len, sizeof(longs) + 1 + (size_t)i);
		assert_int_equal(b.data[b.len], '\0');
		longs[100 * (i + 1)] = '"';
	}
	buf_free(&b);
}

/* A whole nested document: keys, commas, every value kind, parsed back field by field. */
static void test_document_parses_back(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	struct jw w;
	jw_init(&w, &b);
	jw_arr_begin(&w);
	for (int i = 0; i < 20; i++) {
		jw_obj_begin(&w);
		jw_kint(&w, "id", (int64_t)i * 1000003 - 7);
		jw_kstr(&w, "name", i % 2 ? "Ольга \"Оля\"" : "Ivan\\Petrov");
		jw_kstr(&w, "email", NULL);
		jw_knull(&w, "avatarUrl");
		jw_kbool(&w, "vip", i % 3 == 0);
		jw_kmoney(&w, "averageBill", (int64_t)i * 12345);
		jw_key(&w, "tags");
		jw_arr_begin(&w);
		jw_str(&w, "a");
		jw_int(&w, -i);
		jw_fixed(&w, 1500, QTY_DIGITS);
		jw_raw(&w, "{\"x\":1}");
		jw_arr_end(&w);
		jw_kstr(&w, "weird key\n", "v");
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	json_error_t err;
	json_t *j = json_loads(b.data, 0, &err);
	if (!j)
		fail_msg("jansson rejects the document at %d: %s", err.position, err.text);
	assert_int_equal(json_array_size(j), 20);
	for (int i = 0; i < 20; i++) {
		json_t *o = json_array_get(j, (size_t)i);
		assert_int_equal(json_integer_value(json_object_get(o, "id")),
				 (int64_t)i * 1000003 - 7);
		assert_string_equal(json_string_value(json_object_get(o, "name")),
				    i % 2 ? "Ольга \"Оля\"" : "Ivan\\Petrov");
		assert_true(json_is_null(json_object_get(o, "email")));
		assert_true(json_is_null(json_object_get(o, "avatarUrl")));
		assert_int_equal(json_is_true(json_object_get(o, "vip")), i % 3 == 0);
		json_t *bill = json_object_get(o, "averageBill");
		double bill_d = json_is_integer(bill) ? (double)json_integer_value(bill)
						      : json_real_value(bill);
		assert_true(bill_d * 100 == (double)(i * 12345) ||
			    fabs(bill_d * 100 - (double)(i * 12345)) < 1e-6);
		json_t *tags = json_object_get(o, "tags");
		assert_int_equal(json_array_size(tags), 4);
		assert_int_equal(json_integer_value(json_array_get(tags, 1)), -i);
		assert_true(json_real_value(json_array_get(tags, 2)) == 1.5);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(tags, 3), "x")),
				 1);
		assert_string_equal(json_string_value(json_object_get(o, "weird key\n")), "v");
	}
	json_decref(j);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integers),
	    cmocka_unit_test(test_money),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_document_parses_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
