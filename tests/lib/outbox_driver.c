/* A POS terminal for tests/api/test_lib_outbox.py: posts a stream of sales through libkopilka's
 * outbox, one line of output per order, and can be killed at any point. Sale i has externalId
 * "<prefix>-<i>" and the Idempotency-Key "drv-<prefix>-<i>"; every `bad_every`-th one spends far
 * more points than anyone has, a refusal that must end failed in the outbox, not retried.
 * Progress (the next i) is kept in <outbox>.next, written after the order is in the outbox: a kill
 * between the two posts that order again, with the same body and key, which the server replays.
 *
 * Usage: outbox_driver URL LOGIN PASSWORD OUTBOX PHONE PREFIX COUNT BAD_EVERY
 *        outbox_driver URL LOGIN PASSWORD OUTBOX --flush SECONDS
 * Exit: 0 done (flush: nothing pending), 3 flush: still pending, 1 an error. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kopilka.h"

static long read_next(const char *path)
{
	FILE *f = fopen(path, "r");
	long next = 0;
	if (f) {
		if (fscanf(f, "%ld", &next) != 1)
			next = 0;
		fclose(f);
	}
	return next;
}

static int write_next(const char *path, long next)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", next);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -1;
	}
	fclose(f);
	return rename(tmp, path);
}

static int print_status(kopilka *h)
{
	struct kopilka_outbox_counts counts;
	json_t *entries = NULL;
	struct kopilka_error err;
	if (kopilka_outbox_status(h, &counts, &entries, &err) != KOPILKA_OK) {
		fprintf(stderr, "status: %s\n", err.message);
		return -1;
	}
	json_t *out = json_pack("{s:I,s:I,s:I,s:o}", "pending", (json_int_t)counts.pending, "sent",
				(json_int_t)counts.sent, "failed", (json_int_t)counts.failed,
				"entries", entries);
	char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
	if (text)
		printf("status %s\n", text);
	free(text);
	json_decref(out);
	fflush(stdout);
	return counts.pending > 0 ? 3 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: see tests/lib/outbox_driver.c\n");
		return 1;
	}
	struct kopilka_config config;
	kopilka_config_init(&config);
	config.base_url = argv[1];
	config.login = argv[2];
	config.password = argv[3];
	config.outbox_path = argv[4];
	config.connect_timeout_ms = 1000;
	config.request_timeout_ms = 5000;
	config.max_attempts = 3;
	config.backoff_initial_ms = 20;
	config.backoff_max_ms = 200;
	config.retry_budget_ms = 2000;
	kopilka *h = NULL;
	struct kopilka_error err;
	/* The outbox lock of a killed driver is released by the kernel at once, but the test may
	 * start the next one before the old process is reaped: try for a few seconds. */
	enum kopilka_status st = KOPILKA_ERR_OUTBOX;
	for (int i = 0; i < 50; i++) {
		st = kopilka_create(&config, &h, &err);
		if (st != KOPILKA_ERR_OUTBOX || !err.retryable)
			break;
		usleep(100000);
	}
	if (st != KOPILKA_OK) {
		fprintf(stderr, "create: %s\n", err.message);
		return 1;
	}
	int rc = 0;
	if (strcmp(argv[5], "--flush") == 0) {
		time_t until = time(NULL) + atol(argv[6]);
		do {
			st = kopilka_outbox_flush(h, &err);
			if (st != KOPILKA_OK && st != KOPILKA_QUEUED) {
				fprintf(stderr, "flush: %s\n", err.message);
				rc = 1;
				break;
			}
			if (st == KOPILKA_QUEUED)
				usleep(200000);
		} while (st != KOPILKA_OK && time(NULL) < until);
		if (rc == 0)
			rc = print_status(h);
		kopilka_destroy(h);
		return rc;
	}
	if (argc < 9) {
		fprintf(stderr, "usage: see tests/lib/outbox_driver.c\n");
		kopilka_destroy(h);
		return 1;
	}
	const char *phone = argv[5], *prefix = argv[6];
	long count = atol(argv[7]), bad_every = atol(argv[8]);
	char next_path[4096];
	snprintf(next_path, sizeof(next_path), "%s.next", argv[4]);
	for (long i = read_next(next_path); i < count; i++) {
		char ext[64], key[80];
		snprintf(ext, sizeof(ext), "%s-%ld", prefix, i);
		snprintf(key, sizeof(key), "drv-%s", ext);
		struct kopilka_item item = {.name = "Coffee", .price = "100", .quantity = "1"};
		bool bad = bad_every > 0 && i % bad_every == bad_every - 1;
		struct kopilka_sale sale = {.external_id = ext,
					    .customer_phone = phone,
					    .amount_card = "100",
					    .items = &item,
					    .n_items = 1,
					    .spend_amount = bad ? "1000000" : NULL,
					    .spend_currency = bad ? "points" : NULL};
		json_t *answer = NULL;
		st = kopilka_sale_post(h, &sale, key, &answer, &err);
		json_decref(answer);
		if (st != KOPILKA_OK && st != KOPILKA_QUEUED && st != KOPILKA_ERR_HTTP) {
			fprintf(stderr, "order %s: %s: %s\n", ext, kopilka_status_name(st),
				err.message);
			rc = 1;
			break;
		}
		if (write_next(next_path, i + 1) != 0) {
			perror("progress");
			rc = 1;
			break;
		}
		printf("order %s %s %d %s\n", ext, kopilka_status_name(st), err.http_status,
		       err.code);
		fflush(stdout);
	}
	kopilka_destroy(h);
	return rc;
}
