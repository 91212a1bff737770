/* Unit tests of http/gwallet_api against a fake Google (libmicrohttpd in this process) that
 * plays both the token endpoint and the Wallet API from a script: the token is asked for with
 * a JWT bearer assertion the service account's key signed, kept for the next updates, asked
 * for again after a 401; the PATCH carries the balance; each answer maps to sent, not saved,
 * retry or failed; a token endpoint that fails or a Google that is down is a retry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gwallet.h"
#include "core/jwt.h"
#include "http/gwallet_api.h"

#define ISSUER "3388000000022212345"
#define MAX_SEEN 16

struct answer {
	unsigned status;
	const char *body;
};

struct seen {
	char method[8];
	char url[256];
	char auth[256];
	char *body;
};

static struct fake {
	pthread_mutex_t lock;
	struct answer token, api[4]; /* the API's answers in turn, then api[last] */
	size_t n_api, next_api;
	struct seen seen[MAX_SEEN];
	size_t n_seen;
	struct MHD_Daemon *daemon;
	unsigned port;
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char account_path[] = "/tmp/kopilka-gwallet-api-XXXXXX";
static struct gwallet *g;
static EVP_PKEY *public_key;

static void reset(struct answer token, const struct answer *api, size_t n)
{
	pthread_mutex_lock(&fake.lock);
	fake.token = token;
	if (n)
		memcpy(fake.api, api, n * sizeof(*api));
	fake.n_api = n;
	fake.next_api = 0;
	for (size_t i = 0; i < fake.n_seen; i++)
		free(fake.seen[i].body);
	fake.n_seen = 0;
	pthread_mutex_unlock(&fake.lock);
}

struct upload {
	char *data;
	size_t len;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct upload *up = *con_cls;
	if (!up) {
		*con_cls = calloc(1, sizeof(struct upload));
		return MHD_YES;
	}
	if (*upload_data_size) {
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
	struct answer a;
	pthread_mutex_lock(&fake.lock);
	if (fake.n_seen < MAX_SEEN) {
		struct seen *s = &fake.seen[fake.n_seen++];
		snprintf(s->method, sizeof(s->method), "%s", method);
		snprintf(s->url, sizeof(s->url), "%s", url);
		const char *auth =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		snprintf(s->auth, sizeof(s->auth), "%s", auth ? auth : "");
		s->body = up->data ? strdup(up->data) : NULL;
	}
	if (strcmp(url, "/token") == 0)
		a = fake.token;
	else
		a = fake.api[fake.next_api < fake.n_api ? fake.next_api++ : fake.n_api - 1];
	pthread_mutex_unlock(&fake.lock);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    strlen(a.body), (void *)(uintptr_t)a.body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result rc = MHD_queue_response(conn, a.status, resp);
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

static int setup(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	char *pem;
	long len = BIO_get_mem_data(bio, &pem);
	json_t *doc = json_pack("{s:s, s:s, s:s#, s:s}", "type", "service_account",
				"private_key_id", "kid-1", "private_key", pem, (size_t)len,
				"client_email", "w@p.iam.gserviceaccount.com");
	int fd = mkstemp(account_path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_dump_file(doc, account_path, 0), 0);
	json_decref(doc);
	BIO_free(bio);
	public_key = key;
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.gwallet_issuer_id = ISSUER;
	cfg.gwallet_service_account = account_path;
	cfg.gwallet_origins = "";
	char err[512];
	assert_true(gwallet_load(&cfg, &g, err, sizeof(err)));
	fake.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					   MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
				       0, NULL, NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED,
				       on_completed, NULL, MHD_OPTION_END);
	if (!fake.daemon)
		return -1;
	fake.port = MHD_get_daemon_info(fake.daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
	return outbound_init() ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(fake.daemon);
	reset((struct answer){0, ""}, NULL, 0);
	gwallet_free(g);
	EVP_PKEY_free(public_key);
	unlink(account_path);
	return 0;
}

static struct gwallet_api *client(void)
{
	char api[64], token[64];
	snprintf(api, sizeof(api), "http://127.0.0.1:%u/", fake.port);
	snprintf(token, sizeof(token), "http://127.0.0.1:%u/token", fake.port);
	return gwallet_api_new(g, api, token, 5000);
}

static const struct answer TOKEN_OK = {200, "{\"access_token\":\"ya29.first\",\"expires_in\":3599,"
					    "\"token_type\":\"Bearer\"}"};

static size_t seen_count(void)
{
	pthread_mutex_lock(&fake.lock);
	size_t n = fake.n_seen;
	pthread_mutex_unlock(&fake.lock);
	return n;
}

/* The JWT's part i (0 header, 1 claims) decoded as JSON. */
static json_t *jwt_part(const char *jwt, int i)
{
	const char *start = jwt;
	for (int k = 0; k < i; k++)
		start = strchr(start, '.') + 1;
	size_t n = strcspn(start, ".&");
	char b64[4096];
	assert_true(n < sizeof(b64) - 4);
	for (size_t k = 0; k < n; k++)
		b64[k] = start[k] == '-' ? '+' : start[k] == '_' ? '/' : start[k];
	while (n % 4)
		b64[n++] = '=';
	b64[n] = '\0';
	unsigned char raw[4096];
	int len = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)n);
	assert_true(len > 0);
	json_t *doc = json_loadb((char *)raw, strlen(b64) / 4 * 3, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(doc);
	return doc;
}

static void test_token_then_patch_then_token_kept(void **state)
{
	(void)state;
	const struct answer ok = {200, "{}"};
	reset(TOKEN_OK, &ok, 1);
	struct gwallet_api *a = client();
	struct outbound_result res;
	assert_int_equal(gwallet_api_set_points(a, 7, 42, "94.5", &res), GWALLET_SENT);
	assert_int_equal(res.status, 200);
	assert_int_equal(seen_count(), 2);
	/* The token request: the JWT bearer grant, its assertion the service account's. */
	struct seen *t = &fake.seen[0];
	assert_string_equal(t->method, "POST");
	assert_string_equal(t->url, "/token");
	const char *prefix =
	    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
	assert_non_null(t->body);
	assert_memory_equal(t->body, prefix, strlen(prefix));
	const char *jwt = t->body + strlen(prefix);
	json_t *header = jwt_part(jwt, 0), *claims = jwt_part(jwt, 1);
	assert_string_equal(json_string_value(json_object_get(header, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(header, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(claims, "iss")),
			    "w@p.iam.gserviceaccount.com");
	assert_string_equal(json_string_value(json_object_get(claims, "scope")),
			    "https://www.googleapis.com/auth/wallet_object.issuer");
	char aud[64];
	snprintf(aud, sizeof(aud), "http://127.0.0.1:%u/token", fake.port);
	assert_string_equal(json_string_value(json_object_get(claims, "aud")), aud);
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")) -
			     json_integer_value(json_object_get(claims, "iat")),
			 3600);
	json_decref(header);
	json_decref(claims);
	/* The signature is the key's: verify it. */
	const char *last_dot = strrchr(jwt, '.');
	size_t signed_len = (size_t)(last_dot - jwt);
	char b64[1024];
	size_t n = strlen(last_dot + 1);
	assert_true(n < sizeof(b64) - 4);
	for (size_t k = 0; k < n; k++)
		b64[k] = last_dot[1 + k] == '-'	  ? '+'
			 : last_dot[1 + k] == '_' ? '/'
						  : last_dot[1 + k];
	while (n % 4)
		b64[n++] = '=';
	b64[n] = '\0';
	unsigned char sig[600];
	int sig_len = EVP_DecodeBlock(sig, (unsigned char *)b64, (int)n);
	while (sig_len > 0 && b64[--n] == '=')
		sig_len--;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, public_key), 1);
	assert_int_equal(
	    EVP_DigestVerify(md, sig, (size_t)sig_len, (const unsigned char *)jwt, signed_len), 1);
	EVP_MD_CTX_free(md);
	/* The PATCH: the object's id, the token, the balance. */
	struct seen *p = &fake.seen[1];
	assert_string_equal(p->method, "PATCH");
	assert_string_equal(p->url, "/walletobjects/v1/loyaltyObject/" ISSUER ".kopilka-m7-c42");
	assert_string_equal(p->auth, "Bearer ya29.first");
	json_t *body = json_loads(p->body, 0, NULL);
	assert_non_null(body);
	json_t *balance = json_object_get(json_object_get(body, "loyaltyPoints"), "balance");
	assert_string_equal(json_string_value(json_object_get(balance, "string")), "94.5");
	json_decref(body);
	/* The next update uses the token it holds. */
	assert_int_equal(gwallet_api_set_points(a, 7, 43, "1", &res), GWALLET_SENT);
	assert_int_equal(seen_count(), 3);
	assert_string_equal(fake.seen[2].method, "PATCH");
	assert_string_equal(fake.seen[2].auth, "Bearer ya29.first");
	gwallet_api_free(a);
}

static void test_refused_token_is_fetched_again_once(void **state)
{
	(void)state;
	const struct answer api[] = {{401, "{}"}, {200, "{}"}};
	reset(TOKEN_OK, api, 2);
	struct gwallet_api *a = client();
	struct outbound_result res;
	assert_int_equal(gwallet_api_set_points(a, 1, 2, "5", &res), GWALLET_SENT);
	/* token, PATCH 401, token, PATCH 200 */
	assert_int_equal(seen_count(), 4);
	assert_string_equal(fake.seen[0].url, "/token");
	assert_string_equal(fake.seen[1].method, "PATCH");
	assert_string_equal(fake.seen[2].url, "/token");
	assert_string_equal(fake.seen[3].method, "PATCH");
	/* Refused twice: not a loop, a failure. */
	const struct answer refused[] = {{401, "{}"}};
	reset(TOKEN_OK, refused, 1);
	assert_int_equal(gwallet_api_set_points(a, 1, 2, "5", &res), GWALLET_FAILED);
	assert_int_equal(res.status, 401);
	assert_int_equal(seen_count(), 3); /* PATCH 401 (held token), token, PATCH 401 */
	gwallet_api_free(a);
}

static void test_answers_map_to_outcomes(void **state)
{
	(void)state;
	struct {
		unsigned status;
		enum gwallet_sent want;
	} cases[] = {{204, GWALLET_SENT},  {404, GWALLET_NOT_SAVED}, {429, GWALLET_RETRY},
		     {500, GWALLET_RETRY}, {503, GWALLET_RETRY},     {400, GWALLET_FAILED},
		     {403, GWALLET_FAILED}};
	struct gwallet_api *a = client();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct answer api = {cases[i].status, "{}"};
		reset(TOKEN_OK, &api, 1);
		struct outbound_result res;
		assert_int_equal(gwallet_api_set_points(a, 1, 2, "5", &res), cases[i].want);
		assert_int_equal(res.status, cases[i].status);
	}
	gwallet_api_free(a);
}

static void test_no_token_no_patch(void **state)
{
	(void)state;
	const struct answer ok = {200, "{}"};
	struct answer bad[] = {{500, "{}"},
			       {400, "{\"error\":\"invalid_grant\"}"},
			       {200, "{\"token_type\":\"Bearer\"}"}};
	for (size_t i = 0; i < 3; i++) {
		reset(bad[i], &ok, 1);
		struct gwallet_api *a = client();
		struct outbound_result res;
		assert_int_equal(gwallet_api_set_points(a, 1, 2, "5", &res), GWALLET_RETRY);
		assert_true(res.error[0] != '\0');
		assert_int_equal(seen_count(), 1); /* the token request alone */
		gwallet_api_free(a);
	}
	/* Nobody listening: a retry with curl's reason. */
	struct gwallet_api *a =
	    gwallet_api_new(g, "http://127.0.0.1:1", "http://127.0.0.1:1/t", 2000);
	struct outbound_result res;
	assert_int_equal(gwallet_api_set_points(a, 1, 2, "5", &res), GWALLET_RETRY);
	assert_int_equal(res.status, 0);
	assert_true(res.error[0] != '\0');
	gwallet_api_free(a);
}

static void test_url_settings_checked(void **state)
{
	(void)state;
	struct config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.gwallet_issuer_id = ISSUER;
	cfg.gwallet_service_account = account_path;
	cfg.gwallet_origins = "";
	cfg.gwallet_api_url = "ftp://x";
	struct gwallet *other = NULL;
	char err[512];
	assert_false(gwallet_load(&cfg, &other, err, sizeof(err)));
	assert_non_null(strstr(err, "--gwallet-api-url must be an http:// or https:// URL"));
	cfg.gwallet_api_url = "https://walletobjects.googleapis.com";
	cfg.gwallet_token_url = "";
	assert_false(gwallet_load(&cfg, &other, err, sizeof(err)));
	assert_non_null(strstr(err, "--gwallet-token-url"));
	cfg.gwallet_token_url = "http://127.0.0.1:9/token";
	assert_true(gwallet_load(&cfg, &other, err, sizeof(err)));
	gwallet_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_then_patch_then_token_kept),
	    cmocka_unit_test(test_refused_token_is_fetched_again_once),
	    cmocka_unit_test(test_answers_map_to_outcomes),
	    cmocka_unit_test(test_no_token_no_patch),
	    cmocka_unit_test(test_url_settings_checked),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
