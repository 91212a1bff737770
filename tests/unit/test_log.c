/* Unit tests of core/log's line formatters: the text line a person reads at a terminal (local
 * time of day, aligned columns, no control sequence from the text logged, colours only when
 * asked), the JSON line machines read, and the journal's "<N>" priority prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* 2026-12-05T11:23:50.123Z */
#define T_MS 1796469830123LL

static const struct log_style TEXT = {.text = true};
static const struct log_style JSON = {0};

static char *msg_line(struct log_style style, int64_t time_ms, long offset_s, enum log_level level,
		      const char *msg)
{
	struct buf b;
	buf_init(&b);
	log_format_msg(&b, style, time_ms, offset_s, level, msg);
	return buf_steal(&b, NULL);
}

static char *access_line(struct log_style style, const struct access_entry *e)
{
	struct buf b;
	buf_init(&b);
	log_format_access(&b, style, T_MS, 0, e);
	return buf_steal(&b, NULL);
}

static void expect_msg(struct log_style style, int64_t time_ms, long offset_s, enum log_level level,
		       const char *msg, const char *want)
{
	char *line = msg_line(style, time_ms, offset_s, level, msg);
	assert_string_equal(line, want);
	free(line);
}

static void test_text_time_of_day_and_level(void **state)
{
	(void)state;
	expect_msg(TEXT, T_MS, 0, LOG_INFO, "kopilkad serving",
		   "11:23:50.123 INFO  kopilkad serving\n");
	/* Local time: three hours east, one hour west across midnight. */
	expect_msg(TEXT, T_MS, 3 * 3600, LOG_WARN, "w", "14:23:50.123 WARN  w\n");
	expect_msg(TEXT, 1000, -3600, LOG_ERROR, "e", "23:00:01.000 ERROR e\n");
	expect_msg(TEXT, 0, 0, LOG_DEBUG, "d", "00:00:00.000 DEBUG d\n");
}

static void test_text_is_one_line_without_control_sequences(void **state)
{
	(void)state;
	/* A newline, a tab, an escape sequence, DEL, a C1 CSI (U+009B), invalid UTF-8. */
	expect_msg(TEXT, 0, 0, LOG_ERROR, "a\nb\tc\x1b[31md\x7f \xc2\x9b \xff",
		   "00:00:00.000 ERROR a\\nb\\tc\\x1b[31md\\x7f \\xc2\\x9b \\xff\n");
	/* Valid UTF-8 stays as it is. */
	expect_msg(TEXT, 0, 0, LOG_INFO, "Демо Café ☕", "00:00:00.000 INFO  Демо Café ☕\n");
	/* Overlong and surrogate encodings are not valid UTF-8. */
	expect_msg(TEXT, 0, 0, LOG_INFO, "\xe0\x80\xaf\xed\xa0\x80",
		   "00:00:00.000 INFO  \\xe0\\x80\\xaf\\xed\\xa0\\x80\n");
}

static void test_text_access_columns(void **state)
{
	(void)state;
	struct access_entry get = {.request_id = "r1",
				   .method = "GET",
				   .route = "/healthz",
				   .status = 200,
				   .duration_us = 149};
	char *line = access_line(TEXT, &get);
	assert_string_equal(line, "11:23:50.123 INFO  GET    /healthz                             "
				  "200    0.1 ms\n");
	struct access_entry post = {.request_id = "r2",
				    .method = "DELETE",
				    .route = "/ext/api/v1/loyalty/coupons/{id}/",
				    .status = 404,
				    .duration_us = 12345678};
	char *other = access_line(TEXT, &post);
	assert_string_equal(other, "11:23:50.123 INFO  DELETE /ext/api/v1/loyalty/coupons/{id}/    "
				   "404 12345.6 ms\n");
	/* The status starts in the same column. */
	assert_int_equal(strstr(line, " 200") - line, strstr(other, " 404") - other);
	free(line);
	free(other);
	/* A route longer than the column pushes the status by one space only. */
	struct access_entry longer = {.request_id = "r3",
				      .method = "POST",
				      .route = "/ext/api/v1/fiscal_hub/cash_back/hold/write_off/",
				      .status = 201,
				      .duration_us = 2000};
	line = access_line(TEXT, &longer);
	assert_string_equal(line,
			    "11:23:50.123 INFO  POST   "
			    "/ext/api/v1/fiscal_hub/cash_back/hold/write_off/ 201    2.0 ms\n");
	free(line);
}

static void test_text_colours_only_when_asked(void **state)
{
	(void)state;
	struct log_style color = {.text = true, .color = true};
	struct access_entry e = {
	    .request_id = "r", .method = "GET", .route = "/x", .status = 503, .duration_us = 0};
	char *line = access_line(color, &e);
	assert_non_null(strstr(line, "\033[32mINFO \033[0m "));
	assert_non_null(strstr(line, "\033[1;31m503\033[0m"));
	free(line);
	e.status = 200;
	line = access_line(color, &e);
	assert_non_null(strstr(line, " 200 ")); /* a success is not highlighted */
	free(line);
	line = msg_line(color, 0, 0, LOG_ERROR, "x");
	assert_string_equal(line, "00:00:00.000 \033[1;31mERROR\033[0m x\n");
	free(line);
	e.status = 429;
	line = access_line(TEXT, &e);
	assert_null(strchr(line, '\033'));
	free(line);
}

static void test_json_lines(void **state)
{
	(void)state;
	char *line = msg_line(JSON, T_MS, 3 * 3600, LOG_WARN, "a \"quoted\"\nline");
	assert_string_equal(line, "{\"time\":\"2026-12-05T11:23:50.123Z\",\"level\":\"warn\","
				  "\"msg\":\"a \\\"quoted\\\"\\nline\"}\n");
	free(line);
	struct access_entry e = {.request_id = "abc",
				 .method = "POST",
				 .route = "/ext/api/v1/fiscal/orders/",
				 .status = 200,
				 .duration_us = 1234,
				 .merchant_id = 7,
				 .bytes = 99};
	line = access_line(JSON, &e);
	assert_string_equal(line, "{\"time\":\"2026-12-05T11:23:50.123Z\",\"level\":\"info\","
				  "\"msg\":\"request\",\"request_id\":\"abc\",\"method\":\"POST\","
				  "\"route\":\"/ext/api/v1/fiscal/orders/\",\"status\":200,"
				  "\"duration_ms\":1.234,\"merchant_id\":7,\"bytes\":99}\n");
	json_error_t err;
	json_t *j = json_loads(line, 0, &err);
	assert_non_null(j);
	json_decref(j);
	free(line);
	e.merchant_id = 0;
	line = access_line(JSON, &e);
	assert_non_null(strstr(line, "\"merchant_id\":null"));
	free(line);
}

static void test_journal_priority_prefix(void **state)
{
	(void)state;
	struct log_style journal = {.priority = true};
	char *line = msg_line(journal, 0, 0, LOG_ERROR, "x");
	assert_string_equal(line, "<3>{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"error\","
				  "\"msg\":\"x\"}\n");
	free(line);
	expect_msg(journal, 0, 0, LOG_WARN, "x",
		   "<4>{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"msg\":\"x\"}\n");
	struct log_style text_journal = {.text = true, .priority = true};
	expect_msg(text_journal, 0, 0, LOG_DEBUG, "x", "<7>00:00:00.000 DEBUG x\n");
	struct access_entry e = {
	    .request_id = "r", .method = "GET", .route = "/x", .status = 500, .duration_us = 0};
	line = access_line(journal, &e);
	assert_memory_equal(line, "<6>{", 4);
	free(line);
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(log_format_parse("auto"), LOG_FORMAT_AUTO);
	assert_int_equal(log_format_parse("json"), LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("text"), LOG_FORMAT_TEXT);
	assert_int_equal(log_format_parse("TEXT"), -1);
	assert_int_equal(log_format_parse(""), -1);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("warning"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_time_of_day_and_level),
	    cmocka_unit_test(test_text_is_one_line_without_control_sequences),
	    cmocka_unit_test(test_text_access_columns),
	    cmocka_unit_test(test_text_colours_only_when_asked),
	    cmocka_unit_test(test_json_lines),
	    cmocka_unit_test(test_journal_priority_prefix),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
