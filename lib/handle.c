/* libkopilka handle: the configuration copied into a handle, its outbox opened, and the
 * generic call every typed call goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define KK_VERSION_TEXT "0.1.0"

const char *kopilka_version(void)
{
	return KK_VERSION_TEXT;
}

void kopilka_config_init(struct kopilka_config *config)
{
	if (!config)
		return;
	memset(config, 0, sizeof(*config));
	config->connect_timeout_ms = 5000;
	config->request_timeout_ms = 15000;
	config->max_attempts = 5;
	config->backoff_initial_ms = 200;
	config->backoff_max_ms = 5000;
	config->retry_budget_ms = 30000;
	config->verify_tls = 1;
}

static bool dup_text(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

void kopilka_destroy(kopilka *h)
{
	if (!h)
		return;
	kk_outbox_close(h->outbox);
	pthread_mutex_destroy(&h->outbox_lock);
	free(h->base_url);
	free(h->login);
	if (h->password) {
		/* The credential does not outlive the handle in freed memory. */
		volatile char *p = h->password;
		while (*p)
			*p++ = '\0';
	}
	free(h->password);
	free(h->user_agent);
	free(h);
}

enum kopilka_status kopilka_create(const struct kopilka_config *config, kopilka **out,
				   struct kopilka_error *err)
{
	if (!out)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "out: NULL");
	*out = NULL;
	if (!config || !config->base_url)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "base_url: required");
	if (strncmp(config->base_url, "http://", 7) != 0 &&
	    strncmp(config->base_url, "https://", 8) != 0)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "base_url: an http:// or https:// URL, not %.100s",
			       config->base_url);
	if (config->max_attempts < 1 || config->max_attempts > 100)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "max_attempts: 1 to 100");
	if (config->connect_timeout_ms < 1 || config->request_timeout_ms < 1 ||
	    config->backoff_initial_ms < 1 || config->backoff_max_ms < config->backoff_initial_ms ||
	    config->retry_budget_ms < 0 || config->backoff_max_ms > 3600000L)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0,
			       "timeouts and backoff: positive, backoff_initial_ms <= "
			       "backoff_max_ms <= 1 hour");
	enum kopilka_status st = kk_http_global_init(err);
	if (st != KOPILKA_OK)
		return st;

	kopilka *h = calloc(1, sizeof(*h));
	if (!h)
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	if (pthread_mutex_init(&h->outbox_lock, NULL) != 0) {
		free(h);
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "no mutex");
	}
	char agent[64];
	snprintf(agent, sizeof(agent), "libkopilka/%s", KK_VERSION_TEXT);
	if (!dup_text(&h->base_url, config->base_url) || !dup_text(&h->login, config->login) ||
	    !dup_text(&h->password, config->password) ||
	    !dup_text(&h->user_agent, config->user_agent ? config->user_agent : agent)) {
		kopilka_destroy(h);
		return kk_fail(err, KOPILKA_ERR_NOMEM, 0, "out of memory");
	}
	size_t n = strlen(h->base_url);
	while (n > 0 && h->base_url[n - 1] == '/')
		h->base_url[--n] = '\0';
	h->connect_timeout_ms = config->connect_timeout_ms;
	h->request_timeout_ms = config->request_timeout_ms;
	h->max_attempts = config->max_attempts;
	h->backoff_initial_ms = config->backoff_initial_ms;
	h->backoff_max_ms = config->backoff_max_ms;
	h->retry_budget_ms = config->retry_budget_ms;
	h->verify_tls = config->verify_tls;
	if (config->outbox_path) {
		st = kk_outbox_open(config->outbox_path, &h->outbox, err);
		if (st != KOPILKA_OK) {
			kopilka_destroy(h);
			return st;
		}
	}
	*out = h;
	return kk_ok(err);
}

/* The Idempotency-Key rule of the API: 1 to 255 printable ASCII characters. */
static bool idem_key_ok(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7E)
			return false;
	return true;
}

enum kopilka_status kopilka_request(kopilka *h, const char *method, const char *path,
				    const char *json_body, const char *idempotency_key,
				    json_t **answer, struct kopilka_error *err)
{
	json_t *ignored = NULL;
	json_t **out = answer ? answer : &ignored;
	*out = NULL;
	if (!h)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "handle: NULL");
	if (!method)
		return kk_fail(err, KOPILKA_ERR_INVALID, 0, "method: NULL");
	char key[KK_IDEM_KEY_MAX];
	const char *idem = NULL;
	bool writes = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	if (idempotency_key) {
		if (!idem_key_ok(idempotency_key))
			return kk_fail(err, KOPILKA_ERR_INVALID, 0,
				       "idempotency_key: 1 to 255 printable ASCII characters");
		idem = idempotency_key;
	} else if (writes) {
		enum kopilka_status st = kk_new_idem_key(key, err);
		if (st != KOPILKA_OK)
			return st;
		idem = key;
	}
	struct kk_request req = {
	    .method = method, .path = path, .body = json_body, .idem_key = idem};
	enum kopilka_status st = kk_http_call(h, &req, out, err);
	if (!answer)
		json_decref(ignored);
	return st;
}
