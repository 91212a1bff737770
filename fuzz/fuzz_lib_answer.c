/* libFuzzer target: libkopilka's reading of what a server answers (lib/errors.c, lib/money.c),
 * which a POS runs on whatever the network gives it: the error body becomes a struct
 * kopilka_error whose texts are terminated, within their arrays and single-line; a 2xx body
 * parses or is a protocol error; every number of it that kopilka_money_from_json accepts prints
 * and parses back to the same minor units; Retry-After stays within a day.
 *
 * Input: byte 0 picks the HTTP status (200..599), bytes 1..16 are a Retry-After value (up to
 * the first NUL), the rest is the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void check_money(const json_t *value, int depth)
{
	if (depth > 64)
		return;
	if (json_is_number(value)) {
		int64_t minor = 0, back = 0;
		if (kopilka_money_from_json(value, &minor) == KOPILKA_OK) {
			char text[KOPILKA_MONEY_TEXT_MAX];
			kopilka_money_format(minor, text);
			if (kopilka_money_parse(text, &back) != KOPILKA_OK || back != minor)
				abort();
		}
		return;
	}
	size_t i;
	const char *key;
	json_t *item;
	if (json_is_array(value)) {
		json_array_foreach((json_t *)value, i, item) check_money(item, depth + 1);
	} else if (json_is_object(value)) {
		json_object_foreach((json_t *)value, key, item) check_money(item, depth + 1);
	}
}

static void check_text(const char *text, size_t cap)
{
	size_t n = strnlen(text, cap);
	if (n >= cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 17 || size > 65536)
		return 0;
	long status = 200 + data[0] * 400 / 256;
	char retry_after[17];
	memcpy(retry_after, data + 1, 16);
	retry_after[16] = '\0';
	const char *body = (const char *)data + 17;
	size_t len = size - 17;

	long ms = kk_parse_retry_after(retry_after);
	if (ms < 0 || ms > 86400L * 1000)
		abort();

	struct kopilka_error err;
	memset(&err, 0x5A, sizeof(err));
	if (kk_error_from_answer(&err, status, body, len, retry_after) != KOPILKA_ERR_HTTP)
		abort();
	if (err.status != KOPILKA_ERR_HTTP || err.http_status != status ||
	    err.retryable != (int)kk_status_retryable(status) || err.retry_after_ms != ms)
		abort();
	check_text(err.message, sizeof(err.message));
	if (strnlen(err.code, sizeof(err.code)) >= sizeof(err.code) || err.message[0] == '\0')
		abort();

	json_t *answer = NULL;
	enum kopilka_status st = kk_parse_answer(body, len, &answer, &err);
	if (st == KOPILKA_OK) {
		check_money(answer, 0);
		json_decref(answer);
	} else if ((st != KOPILKA_ERR_PROTOCOL && st != KOPILKA_ERR_NOMEM) || answer != NULL) {
		abort();
	}
	return 0;
}
