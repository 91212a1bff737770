/* Unit tests of libkopilka against a fake API server (libmicrohttpd in this process) that
 * answers from a script: retries of 5xx and 429 (Retry-After) with the same body and
 * Idempotency-Key, refusals that are not retried, bad JSON, timeouts, an unreachable server,
 * the money helpers, and the outbox (queued while the server fails, sent by a flush, a refusal
 * kept as failed, all of it surviving a new handle). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kopilka.h"

#define MAX_STEPS 16
#define MAX_SEEN 32

struct step {
	unsigned status;
	const char *body;
	const char *retry_after; /* NULL: no header */
	unsigned delay_ms;	 /* before answering */
};

struct seen {
	char method[8];
	char url[256];
	char idem_key[300];
	char auth[128];
	char *body;
};

static struct fake {
	pthread_mutex_t lock;
	struct step steps[MAX_STEPS];
	size_t n_steps, next_step;
	struct step fallback; /* when the script is used up */
	struct seen seen[MAX_SEEN];
	size_t n_seen;
	struct MHD_Daemon *daemon;
	unsigned port;
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct upload {
	char *data;
	size_t len;
};

static void script(const struct step *steps, size_t n, struct step fallback)
{
	pthread_mutex_lock(&fake.lock);
	for (size_t i = 0; i < n; i++)
		fake.steps[i] = steps[i];
	fake.n_steps = n;
	fake.next_step = 0;
	fake.fallback = fallback;
	for (size_t i = 0; i < fake.n_seen; i++)
		free(fake.seen[i].body);
	fake.n_seen = 0;
	pthread_mutex_unlock(&fake.lock);
}

static size_t seen_count(void)
{
	pthread_mutex_lock(&fake.lock);
	size_t n = fake.n_seen;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *up = *con_cls;
	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		char *grown = realloc(up->data, up->len + *upload_data_size + 1);
		if (!grown)
			return MHD_NO;
		up->data = grown;
		memcpy(up->data + up->len, upload_data, *upload_data_size);
		up->len += *upload_data_size;
		up->data[up->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct step step;
	pthread_mutex_lock(&fake.lock);
	if (fake.n_seen < MAX_SEEN) {
		struct seen *s = &fake.seen[fake.n_seen++];
		memset(s, 0, sizeof(*s));
		snprintf(s->method, sizeof(s->method), "%s", method);
		const char *query = NULL;
		(void)query;
		snprintf(s->url, sizeof(s->url), "%s", url);
		const char *phone =
		    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "phone");
		if (phone)
			snprintf(s->url + strlen(s->url), sizeof(s->url) - strlen(s->url),
				 "?phone=%s", phone);
		const char *key =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key");
		snprintf(s->idem_key, sizeof(s->idem_key), "%s", key ? key : "");
		const char *auth =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		snprintf(s->auth, sizeof(s->auth), "%s", auth ? auth : "");
		s->body = up->data ? strdup(up->data) : NULL;
	}
	step = fake.next_step < fake.n_steps ? fake.steps[fake.next_step++] : fake.fallback;
	pthread_mutex_unlock(&fake.lock);
	if (step.delay_ms)
		usleep(step.delay_ms * 1000);
	const char *body = step.body ? step.body : "";
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json;charset=UTF-8");
	if (step.retry_after)
		MHD_add_response_header(resp, "Retry-After", step.retry_after);
	enum MHD_Result rc = MHD_queue_response(conn, step.status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct upload *up = *con_cls;
	if (up) {
		free(up->data);
		free(up);
	}
	*con_cls = NULL;
}

static const struct step OK_EMPTY = {200, "{}", NULL, 0};

static int start_fake(void **state)
{
	(void)state;
	fake.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
				       0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED,
				       on_completed, NULL, MHD_OPTION_END);
	if (!fake.daemon)
		return -1;
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(fake.daemon, MHD_DAEMON_INFO_BIND_PORT);
	fake.port = info->port;
	return 0;
}

static int stop_fake(void **state)
{
	(void)state;
	MHD_stop_daemon(fake.daemon);
	script(NULL, 0, OK_EMPTY);
	return 0;
}

static char base_url[64];

static kopilka *make_handle(const char *outbox, int max_attempts, long budget_ms)
{
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", fake.port);
	struct kopilka_config c;
	kopilka_config_init(&c);
	c.base_url = base_url;
	c.login = "pos@shop.example";
	c.password = "kpk_1_secret";
	c.outbox_path = outbox;
	c.max_attempts = max_attempts;
	c.backoff_initial_ms = 5;
	c.backoff_max_ms = 20;
	c.retry_budget_ms = budget_ms;
	c.request_timeout_ms = 2000;
	kopilka *h = NULL;
	struct kopilka_error err;
	enum kopilka_status st = kopilka_create(&c, &h, &err);
	if (st != KOPILKA_OK)
		fail_msg("create: %s", err.message);
	return h;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char SALE[] = "{\"order\":{\"externalId\":\"R-1\",\"receiptType\":\"sale\","
			   "\"amountCard\":10.10,\"items\":[{\"name\":\"Tea\",\"price\":10.10,"
			   "\"quantity\":1}]}}";

static void test_balance_exact(void **state)
{
	(void)state;
	struct step steps[] = {{200,
				"[{\"amount\":1234.56,\"currency\":\"points\"},"
				"{\"amount\":0.1,\"currency\":\"rubles\"}]",
				NULL, 0}};
	script(steps, 1, OK_EMPTY);
	kopilka *h = make_handle(NULL, 3, 5000);
	struct kopilka_balance b;
	struct kopilka_error err;
	assert_int_equal(kopilka_balance(h, 7, &b, &err), KOPILKA_OK);
	assert_int_equal(b.points_minor, 123456);
	assert_int_equal(b.rubles_minor, 10);
	assert_int_equal(seen_count(), 1);
	assert_string_equal(fake.seen[0].method, "GET");
	assert_string_equal(fake.seen[0].url, "/ext/api/v1/clients/7/balance/");
	/* Basic base64("pos@shop.example:kpk_1_secret") */
	assert_string_equal(fake.seen[0].auth, "Basic cG9zQHNob3AuZXhhbXBsZTprcGtfMV9zZWNyZXQ=");
	assert_string_equal(fake.seen[0].idem_key, ""); /* a GET carries none */
	kopilka_destroy(h);
}

static void test_5xx_then_success_same_key(void **state)
{
	(void)state;
	struct step steps[] = {{503, "{\"status\":503,\"message\":\"busy\"}", NULL, 0},
			       {500, "oops", NULL, 0},
			       {200, "{\"id\":42,\"externalOrderNumber\":\"R-1\"}", NULL, 0}};
	script(steps, 3, OK_EMPTY);
	kopilka *h = make_handle(NULL, 5, 5000);
	json_t *answer = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_order_post(h, SALE, NULL, &answer, &err), KOPILKA_OK);
	assert_int_equal(json_integer_value(json_object_get(answer, "id")), 42);
	assert_int_equal(err.attempts, 3);
	assert_int_equal(err.http_status, 200);
	assert_int_equal(seen_count(), 3);
	/* A generated key, the same on every attempt, and the body byte for byte. */
	assert_true(strncmp(fake.seen[0].idem_key, "kpl-", 4) == 0);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(fake.seen[i].method, "POST");
		assert_string_equal(fake.seen[i].url, "/ext/api/v1/fiscal/orders/");
		assert_string_equal(fake.seen[i].idem_key, fake.seen[0].idem_key);
		assert_string_equal(fake.seen[i].body, SALE);
	}
	char first_key[300];
	snprintf(first_key, sizeof(first_key), "%s", fake.seen[0].idem_key);
	json_decref(answer);

	/* Another logical call gets another key; a caller's key is sent as given. */
	script(NULL, 0, OK_EMPTY);
	assert_int_equal(kopilka_order_post(h, SALE, NULL, &answer, &err), KOPILKA_OK);
	json_decref(answer);
	assert_string_not_equal(fake.seen[0].idem_key, first_key);
	script(NULL, 0, OK_EMPTY);
	assert_int_equal(
	    kopilka_request(h, "POST", "/clients/", "{\"phone\":\"1\"}", "pos-7-1", &answer, &err),
	    KOPILKA_OK);
	json_decref(answer);
	assert_string_equal(fake.seen[0].idem_key, "pos-7-1");
	kopilka_destroy(h);
}

static void test_5xx_exhausts_attempts(void **state)
{
	(void)state;
	script(NULL, 0, (struct step){502, "", NULL, 0});
	kopilka *h = make_handle(NULL, 4, 5000);
	json_t *answer = (json_t *)1;
	struct kopilka_error err;
	assert_int_equal(kopilka_settings_get(h, &answer, &err), KOPILKA_ERR_HTTP);
	assert_null(answer);
	assert_int_equal(err.http_status, 502);
	assert_int_equal(err.retryable, 1);
	assert_int_equal(err.attempts, 4);
	assert_int_equal(seen_count(), 4);
	kopilka_destroy(h);
}

static void test_429_retry_after(void **state)
{
	(void)state;
	struct step steps[] = {{429, "{\"status\":429,\"message\":\"slow down\"}", "1", 0},
			       {200, "{\"active\":true}", NULL, 0}};
	script(steps, 2, OK_EMPTY);
	kopilka *h = make_handle(NULL, 5, 5000);
	json_t *answer = NULL;
	struct kopilka_error err;
	int64_t t0 = now_ms();
	assert_int_equal(kopilka_settings_get(h, &answer, &err), KOPILKA_OK);
	/* The second attempt waited the server's second, not the 5 ms backoff. */
	assert_true(now_ms() - t0 >= 950);
	assert_int_equal(seen_count(), 2);
	assert_true(json_is_true(json_object_get(answer, "active")));
	json_decref(answer);

	/* A Retry-After beyond the retry budget ends the call at once, retryable. */
	script(NULL, 0, (struct step){429, "{\"message\":\"locked\"}", "120", 0});
	t0 = now_ms();
	assert_int_equal(kopilka_settings_get(h, &answer, &err), KOPILKA_ERR_HTTP);
	assert_true(now_ms() - t0 < 4000);
	assert_int_equal(err.http_status, 429);
	assert_int_equal(err.retry_after_ms, 120000);
	assert_int_equal(err.retryable, 1);
	assert_string_equal(err.message, "locked");
	assert_int_equal(seen_count(), 1);
	kopilka_destroy(h);
}

static void test_4xx_business_not_retried(void **state)
{
	(void)state;
	script(NULL, 0,
	       (struct step){400,
			     "{\"error\":\"Bad Request\",\"message\":\"amount: more than the 5 "
			     "points available\",\"path\":\"/ext/api/v1/fiscal/orders/\","
			     "\"status\":400,\"timestamp\":1,\"code\":\"insufficient_funds\"}",
			     NULL, 0});
	kopilka *h = make_handle(NULL, 5, 5000);
	json_t *answer = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_order_post(h, SALE, "k1", &answer, &err), KOPILKA_ERR_HTTP);
	assert_null(answer);
	assert_int_equal(err.status, KOPILKA_ERR_HTTP);
	assert_int_equal(err.http_status, 400);
	assert_string_equal(err.code, "insufficient_funds");
	assert_string_equal(err.message, "amount: more than the 5 points available");
	assert_int_equal(err.retryable, 0);
	assert_int_equal(seen_count(), 1);

	/* 404 of a client: one attempt too. */
	script(NULL, 0, (struct step){404, "{\"message\":\"client 9 not found\"}", NULL, 0});
	assert_int_equal(kopilka_client_get(h, 9, &answer, &err), KOPILKA_ERR_HTTP);
	assert_int_equal(err.http_status, 404);
	assert_string_equal(err.code, "");
	assert_int_equal(seen_count(), 1);
	kopilka_destroy(h);
}

static void test_bad_json(void **state)
{
	(void)state;
	script(NULL, 0, (struct step){200, "[{\"amount\": 1,", NULL, 0});
	kopilka *h = make_handle(NULL, 5, 5000);
	json_t *answer = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_client_find(h, "79120000001", NULL, NULL, &answer, &err),
			 KOPILKA_ERR_PROTOCOL);
	assert_null(answer);
	assert_int_equal(err.http_status, 200);
	assert_int_equal(err.retryable, 0);
	assert_int_equal(seen_count(), 1);
	assert_string_equal(fake.seen[0].url, "/ext/api/v1/clients/?phone=79120000001");

	/* A balance that is JSON but not the API's shape. */
	script(NULL, 0, (struct step){200, "{\"amount\":\"lots\"}", NULL, 0});
	struct kopilka_balance b;
	assert_int_equal(kopilka_balance(h, 1, &b, &err), KOPILKA_ERR_PROTOCOL);
	/* An error body that is not JSON still gives the status. */
	script(NULL, 0, (struct step){409, "<html>conflict</html>", NULL, 0});
	assert_int_equal(kopilka_settings_get(h, &answer, &err), KOPILKA_ERR_HTTP);
	assert_int_equal(err.http_status, 409);
	assert_string_equal(err.message, "the server answered HTTP 409");
	kopilka_destroy(h);
}

static void test_timeout(void **state)
{
	(void)state;
	script(NULL, 0, (struct step){200, "{}", NULL, 1500});
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", fake.port);
	struct kopilka_config c;
	kopilka_config_init(&c);
	c.base_url = base_url;
	c.request_timeout_ms = 200;
	c.max_attempts = 2;
	c.backoff_initial_ms = 5;
	c.backoff_max_ms = 10;
	kopilka *h = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_create(&c, &h, &err), KOPILKA_OK);
	json_t *answer = NULL;
	assert_int_equal(kopilka_settings_get(h, &answer, &err), KOPILKA_ERR_NETWORK);
	assert_int_equal(err.retryable, 1);
	assert_int_equal(err.attempts, 2);
	assert_int_equal(err.http_status, 0);
	assert_non_null(strstr(err.message, "timeout"));
	kopilka_destroy(h);
}

static void test_unreachable(void **state)
{
	(void)state;
	struct kopilka_config c;
	kopilka_config_init(&c);
	c.base_url = "http://127.0.0.1:1"; /* nothing listens on port 1 */
	c.max_attempts = 3;
	c.backoff_initial_ms = 5;
	c.backoff_max_ms = 10;
	kopilka *h = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_create(&c, &h, &err), KOPILKA_OK);
	json_t *answer = NULL;
	assert_int_equal(kopilka_client_get(h, 1, &answer, &err), KOPILKA_ERR_NETWORK);
	assert_int_equal(err.attempts, 3);
	assert_int_equal(err.retryable, 1);
	kopilka_destroy(h);
}

static void test_invalid_arguments(void **state)
{
	(void)state;
	kopilka *h = NULL;
	struct kopilka_error err;
	struct kopilka_config c;
	kopilka_config_init(&c);
	assert_int_equal(kopilka_create(&c, &h, &err), KOPILKA_ERR_INVALID); /* no base_url */
	assert_null(h);
	c.base_url = "ftp://x";
	assert_int_equal(kopilka_create(&c, &h, &err), KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_create(NULL, &h, NULL), KOPILKA_ERR_INVALID);
	script(NULL, 0, OK_EMPTY);
	h = make_handle(NULL, 1, 1000);
	json_t *answer = NULL;
	assert_int_equal(kopilka_request(h, "PATCH", "/x/", NULL, NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_request(h, "GET", "/a b/", NULL, NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_request(h, "POST", "/x/", "{}", "bad\nkey", &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_request(NULL, "GET", "/x/", NULL, NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_order_post(h, "{\"order\":{}}", NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_non_null(strstr(err.message, "externalId"));
	assert_int_equal(kopilka_order_post(h, "not json", NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_client_find(h, "1", "a@b", NULL, &answer, &err),
			 KOPILKA_ERR_INVALID);
	struct kopilka_item bad_price = {.name = "x", .price = "1.005"};
	struct kopilka_sale sale = {.external_id = "1", .items = &bad_price, .n_items = 1};
	assert_int_equal(kopilka_sale_post(h, &sale, NULL, &answer, &err), KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_outbox_flush(h, &err), KOPILKA_ERR_INVALID); /* no outbox */
	assert_int_equal(seen_count(), 0);				      /* nothing sent */
	kopilka_destroy(h);
	kopilka_destroy(NULL);
}

static void test_sale_body(void **state)
{
	(void)state;
	script(NULL, 0, (struct step){200, "{\"id\":1}", NULL, 0});
	kopilka *h = make_handle(NULL, 1, 1000);
	struct kopilka_item items[] = {{.name = "Ча\"й", .price = "10.10", .product_id = "SKU-1"},
				       {.name = "Cake", .price = "0.5", .quantity = "0.250"}};
	int64_t coupons[] = {3, 4};
	struct kopilka_sale sale = {.external_id = "R-9",
				    .customer_phone = "+7 912 000-00-01",
				    .amount_card = "10.23",
				    .items = items,
				    .n_items = 2,
				    .spend_amount = "5",
				    .spend_currency = "points",
				    .coupon_ids = coupons,
				    .n_coupons = 2};
	json_t *answer = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_sale_post(h, &sale, NULL, &answer, &err), KOPILKA_OK);
	json_decref(answer);
	assert_string_equal(
	    fake.seen[0].body,
	    "{\"order\":{\"receiptType\":\"sale\",\"externalId\":\"R-9\",\"customerPhone\":\"+7 "
	    "912 000-00-01\",\"amountCard\":10.23,\"items\":[{\"name\":\"Ча\\\"й\",\"price\":"
	    "10.10,\"quantity\":1,\"Id\":\"SKU-1\"},{\"name\":\"Cake\",\"price\":0.5,"
	    "\"quantity\":0.250}]},\"amount\":5,\"currency\":\"points\",\"coupons\":[3,4]}");
	struct kopilka_refund_line lines[] = {{.item_id = 11}, {.item_id = 12, .quantity = "0.5"}};
	script(NULL, 0, (struct step){200, "{\"id\":2}", NULL, 0});
	assert_int_equal(kopilka_refund_post(h, "R-9-r", lines, 2, NULL, &answer, &err),
			 KOPILKA_OK);
	json_decref(answer);
	assert_string_equal(fake.seen[0].body,
			    "{\"order\":{\"receiptType\":\"refund\",\"externalId\":\"R-9-r\","
			    "\"items\":[{\"id\":11},{\"id\":12,\"quantity\":0.5}]}}");
	script(NULL, 0, (struct step){200, "{\"id\":3}", NULL, 0});
	assert_int_equal(kopilka_refund_seed_post(h, "R-9", "40211", items, 1, NULL, &answer, &err),
			 KOPILKA_OK);
	json_decref(answer);
	assert_string_equal(fake.seen[0].body,
			    "{\"order\":{\"receiptType\":\"refund\",\"externalId\":\"R-9\","
			    "\"fd\":\"40211\",\"items\":[{\"name\":\"Ча\\\"й\",\"price\":10.10,"
			    "\"quantity\":1,\"Id\":\"SKU-1\"}]}}");
	struct kopilka_new_client nc = {.email = "a@b.example", .name = "Anna"};
	script(NULL, 0, (struct step){201, "{\"id\":5}", NULL, 0});
	assert_int_equal(kopilka_client_create(h, &nc, NULL, &answer, &err), KOPILKA_OK);
	assert_int_equal(err.http_status, 201);
	json_decref(answer);
	assert_string_equal(fake.seen[0].body, "{\"email\":\"a@b.example\",\"name\":\"Anna\"}");
	script(NULL, 0, (struct step){200, "{\"transactionId\":\"t\"}", NULL, 0});
	assert_int_equal(
	    kopilka_hold_create(h, 5, "points", "12.5", coupons, 1, NULL, &answer, &err),
	    KOPILKA_OK);
	json_decref(answer);
	assert_string_equal(fake.seen[0].body,
			    "{\"clientId\":5,\"currency\":\"points\",\"amount\":12.5,"
			    "\"couponIds\":[3]}");
	kopilka_destroy(h);
}

static void test_money(void **state)
{
	(void)state;
	int64_t minor = 0;
	assert_int_equal(kopilka_money_parse("12.3", &minor), KOPILKA_OK);
	assert_int_equal(minor, 1230);
	assert_int_equal(kopilka_money_parse("-0.05", &minor), KOPILKA_OK);
	assert_int_equal(minor, -5);
	assert_int_equal(kopilka_money_parse("1.005", &minor), KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_money_parse("1e3", &minor), KOPILKA_ERR_INVALID);
	assert_int_equal(kopilka_money_parse("", &minor), KOPILKA_ERR_INVALID);
	char text[KOPILKA_MONEY_TEXT_MAX];
	assert_string_equal(kopilka_money_format(1230, text), "12.3");
	assert_string_equal(kopilka_money_format(-5, text), "-0.05");
	assert_string_equal(kopilka_money_format(1000, text), "10");
	assert_string_equal(kopilka_money_format(INT64_MIN, text), "-92233720368547758.08");
	json_t *v = json_real(0.3);
	assert_int_equal(kopilka_money_from_json(v, &minor), KOPILKA_OK);
	assert_int_equal(minor, 30);
	json_decref(v);
	v = json_real(999999999999.99);
	assert_int_equal(kopilka_money_from_json(v, &minor), KOPILKA_OK);
	assert_int_equal(minor, 99999999999999);
	json_decref(v);
	v = json_real(0.125);
	assert_int_equal(kopilka_money_from_json(v, &minor), KOPILKA_ERR_PROTOCOL);
	json_decref(v);
	v = json_string("1");
	assert_int_equal(kopilka_money_from_json(v, &minor), KOPILKA_ERR_PROTOCOL);
	json_decref(v);
}

static void test_outbox(void **state)
{
	(void)state;
	char dir[] = "/tmp/kopilka-outbox-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/outbox.db", dir);

	/* The server fails: the order is kept, reported queued. */
	script(NULL, 0, (struct step){503, "{\"message\":\"down\"}", NULL, 0});
	kopilka *h = make_handle(path, 2, 2000);
	json_t *answer = NULL;
	struct kopilka_error err;
	assert_int_equal(kopilka_order_post(h, SALE, NULL, &answer, &err), KOPILKA_QUEUED);
	assert_null(answer);
	assert_int_equal(err.status, KOPILKA_QUEUED);
	assert_int_equal(err.http_status, 503);
	assert_int_equal(seen_count(), 2);
	char key[300];
	snprintf(key, sizeof(key), "%s", fake.seen[0].idem_key);
	/* A second order waits behind the first: sent in order, so the first goes first. */
	const char *sale2 = "{\"order\":{\"externalId\":\"R-2\",\"receiptType\":\"sale\","
			    "\"items\":[{\"name\":\"Tea\",\"price\":1,\"quantity\":1}]}}";
	assert_int_equal(kopilka_order_post(h, sale2, "key-2", &answer, &err), KOPILKA_QUEUED);
	assert_string_equal(fake.seen[2].body, SALE);
	struct kopilka_outbox_counts counts;
	json_t *entries = NULL;
	assert_int_equal(kopilka_outbox_status(h, &counts, &entries, &err), KOPILKA_OK);
	assert_int_equal(counts.pending, 2);
	assert_int_equal(counts.sent, 0);
	assert_int_equal(json_array_size(entries), 2);
	json_t *first = json_array_get(entries, 0);
	assert_string_equal(json_string_value(json_object_get(first, "externalId")), "R-1");
	assert_string_equal(json_string_value(json_object_get(first, "state")), "pending");
	assert_int_equal(json_integer_value(json_object_get(first, "httpStatus")), 503);
	assert_int_equal(json_integer_value(json_object_get(first, "attempts")), 4);
	json_decref(entries);

	/* Another process (here: handle) cannot open the same outbox meanwhile. */
	struct kopilka_config c;
	kopilka_config_init(&c);
	c.base_url = base_url;
	c.outbox_path = path;
	kopilka *other = NULL;
	assert_int_equal(kopilka_create(&c, &other, &err), KOPILKA_ERR_OUTBOX);
	assert_null(other);
	kopilka_destroy(h);

	/* A restart: the entries are still there; the first is refused for good, the second is
	 * sent; the flush reports nothing pending. Both were sent with their first keys. */
	struct step steps[] = {
	    {400, "{\"code\":\"insufficient_funds\",\"message\":\"amount: too much\"}", NULL, 0},
	    {200, "{\"id\":2}", NULL, 0}};
	script(steps, 2, (struct step){500, "", NULL, 0});
	h = make_handle(path, 2, 2000);
	assert_int_equal(kopilka_outbox_flush(h, &err), KOPILKA_OK);
	assert_int_equal(seen_count(), 2);
	assert_string_equal(fake.seen[0].idem_key, key);
	assert_string_equal(fake.seen[1].idem_key, "key-2");
	assert_string_equal(fake.seen[1].body, sale2);
	assert_int_equal(kopilka_outbox_status(h, &counts, &entries, &err), KOPILKA_OK);
	assert_int_equal(counts.pending, 0);
	assert_int_equal(counts.sent, 1);
	assert_int_equal(counts.failed, 1);
	assert_int_equal(json_array_size(entries), 1);
	first = json_array_get(entries, 0);
	assert_string_equal(json_string_value(json_object_get(first, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(first, "code")),
			    "insufficient_funds");
	assert_string_equal(json_string_value(json_object_get(first, "message")),
			    "amount: too much");
	json_decref(entries);
	/* A flush with nothing pending sends nothing: the failed one is not retried. */
	script(NULL, 0, OK_EMPTY);
	assert_int_equal(kopilka_outbox_flush(h, &err), KOPILKA_OK);
	assert_int_equal(seen_count(), 0);

	/* With the server up, an order is acknowledged at once; a refusal comes back as such. */
	script(NULL, 0, (struct step){200, "{\"id\":3}", NULL, 0});
	assert_int_equal(kopilka_order_post(h, SALE, NULL, &answer, &err), KOPILKA_OK);
	assert_int_equal(json_integer_value(json_object_get(answer, "id")), 3);
	json_decref(answer);
	script(NULL, 0,
	       (struct step){409, "{\"code\":\"order_conflict\",\"message\":\"c\"}", NULL, 0});
	assert_int_equal(kopilka_order_post(h, SALE, NULL, &answer, &err), KOPILKA_ERR_HTTP);
	assert_string_equal(err.code, "order_conflict");
	assert_int_equal(kopilka_outbox_status(h, &counts, NULL, &err), KOPILKA_OK);
	assert_int_equal(counts.sent, 2);
	assert_int_equal(counts.failed, 2);
	kopilka_destroy(h);

	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_balance_exact),
	    cmocka_unit_test(test_5xx_then_success_same_key),
	    cmocka_unit_test(test_5xx_exhausts_attempts),
	    cmocka_unit_test(test_429_retry_after),
	    cmocka_unit_test(test_4xx_business_not_retried),
	    cmocka_unit_test(test_bad_json),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_invalid_arguments),
	    cmocka_unit_test(test_sale_body),
	    cmocka_unit_test(test_money),
	    cmocka_unit_test(test_outbox),
	};
	return cmocka_run_group_tests(tests, start_fake, stop_fake);
}
