/* Unit tests of the verified-credential cache of api/auth.c, on a real SQLite database in a
 * temporary directory, with API keys (checked by SHA-256, so no Argon2 run per check): a key
 * stays valid from the cache until auth_forget_account; a check that verified a key before the
 * key was revoked and forgotten neither succeeds nor leaves its result in the cache; and checks
 * that hit the cache (taking no lock) while others fill it and forget accounts always get the
 * account of their own key. The black-box suite (tests/api/test_staff.py, test_lockout.py)
 * covers the same through HTTP on both engines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/auth.h"
#include "core/config.h"
#include "core/util.h"
#include "store/accounts.h"
#include "store/store.h"

#define ADDR "127.0.0.1"

struct fixture {
	char dir[64];
	char path[96];
	char pause_file[96];
	struct config cfg;
	struct store *st;
	struct auth *auth;
	int64_t merchant_id;
	int64_t owner_id, cashier_id;
};

static struct fixture fx;

/* Creates an account with login email and returns its id. */
static int64_t make_account(struct store_conn *c, const char *email, enum account_kind kind,
			    enum role role)
{
	char hash[AUTH_HASH_MAX];
	assert_true(auth_hash_password("unused-password", hash));
	struct account a = {.merchant_id = fx.merchant_id,
			    .kind = kind,
			    .role = role,
			    .email = (char *)email,
			    .password_hash = hash};
	if (kind == ACCOUNT_EMPLOYEE)
		snprintf(a.staff_login, sizeof(a.staff_login), "%06d",
			 (int)(fx.merchant_id % 1000));
	int64_t id = 0;
	assert_int_equal(STORE(c, account_create, &a, &id), STORE_OK);
	return id;
}

/* A new API key of the account: the Authorization value "Basic base64(email:kpk_...)" into
 * header, the key's id into *key_id. */
static void make_key(int64_t account_id, const char *email, char *header, size_t cap,
		     int64_t *key_id)
{
	struct store_conn *c = fx.st->ops->acquire(fx.st);
	char secret[33];
	random_hex(secret, 16);
	struct api_key k = {
	    .merchant_id = fx.merchant_id, .account_id = account_id, .created_ms = now_ms()};
	auth_key_digest(secret, k.hash);
	assert_int_equal(STORE(c, begin, true), STORE_OK);
	assert_int_equal(STORE(c, api_key_create, &k, key_id), STORE_OK);
	assert_int_equal(STORE(c, commit), STORE_OK);
	c->ops->release(c);
	char plain[160], b64[224];
	snprintf(plain, sizeof(plain), "%s:kpk_%lld_%s", email, (long long)*key_id, secret);
	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)plain, strlen(plain),
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(header, cap, "Basic %s", b64);
}

static void revoke_key(int64_t key_id)
{
	struct store_conn *c = fx.st->ops->acquire(fx.st);
	assert_int_equal(STORE(c, begin, true), STORE_OK);
	assert_int_equal(STORE(c, api_key_revoke, fx.merchant_id, key_id, now_ms()), STORE_OK);
	assert_int_equal(STORE(c, commit), STORE_OK);
	c->ops->release(c);
}

static enum auth_result check(const char *header, struct who *who)
{
	struct store_conn *c = fx.st->ops->acquire(fx.st);
	int64_t retry_after = 0;
	memset(who, 0, sizeof(*who));
	enum auth_result r = auth_check(fx.auth, c, header, ADDR, who, &retry_after);
	c->ops->release(c);
	return r;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/kopilka-auth-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.path, sizeof(fx.path), "%s/k.db", fx.dir);
	snprintf(fx.pause_file, sizeof(fx.pause_file), "%s/pause", fx.dir);
	if (!config_load(&fx.cfg, CMD_SERVE, 0, NULL, 0, stderr))
		return -1;
	free(fx.cfg.test_auth_pause_file);
	fx.cfg.test_auth_pause_file = xstrdup(fx.pause_file);
	struct store_options opt = {.synchronous = "normal",
				    .busy_timeout_ms = 5000,
				    .pool_size = 8,
				    .group_commit_max = 1,
				    .create = true};
	char err[256] = "";
	fx.st = store_open(fx.path, &opt, err, sizeof(err));
	if (!fx.st) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	fx.auth = auth_create(&fx.cfg);
	if (!fx.auth)
		return -1;
	struct store_conn *c = fx.st->ops->acquire(fx.st);
	assert_int_equal(STORE(c, begin, true), STORE_OK);
	assert_int_equal(STORE(c, merchant_create, "Cafe", now_ms(), &fx.merchant_id), STORE_OK);
	fx.owner_id = make_account(c, "owner@example.com", ACCOUNT_MERCHANT, ROLE_OWNER);
	fx.cashier_id = make_account(c, "cashier@example.com", ACCOUNT_EMPLOYEE, ROLE_CASHIER);
	assert_int_equal(STORE(c, commit), STORE_OK);
	c->ops->release(c);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_destroy(fx.auth);
	fx.st->ops->close(fx.st);
	config_free(&fx.cfg);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_key_is_cached_until_forgotten(void **state)
{
	(void)state;
	char header[256];
	int64_t key_id;
	make_key(fx.owner_id, "owner@example.com", header, sizeof(header), &key_id);
	struct who who;
	assert_int_equal(check(header, &who), AUTH_OK);
	assert_int_equal(who.account_id, fx.owner_id);
	assert_int_equal(who.role, ROLE_OWNER);
	/* Revoked in the database only: the cache still answers (what auth_forget_account is
	 * for, and why every revocation calls it). */
	revoke_key(key_id);
	assert_int_equal(check(header, &who), AUTH_OK);
	auth_forget_account(fx.auth, fx.owner_id);
	assert_int_equal(check(header, &who), AUTH_FAILED);
}

/* Whether the file (the log, stderr redirected) holds text. */
static bool file_has(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char buf[16384];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

struct paused_check {
	const char *header;
	struct who who;
	enum auth_result result;
};

static void *run_check(void *arg)
{
	struct paused_check *p = arg;
	p->result = check(p->header, &p->who);
	return NULL;
}

static void test_check_begun_before_a_revocation_is_not_kept(void **state)
{
	(void)state;
	char header[256];
	int64_t key_id;
	make_key(fx.cashier_id, "cashier@example.com", header, sizeof(header), &key_id);
	/* The log goes to a file, so the test sees when the check has verified the key and
	 * waits at the hook (--test-auth-pause-file) with the key's old state in hand. */
	char log_path[128];
	snprintf(log_path, sizeof(log_path), "%s/log", fx.dir);
	int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(log_fd >= 0);
	int saved_stderr = dup(STDERR_FILENO);
	dup2(log_fd, STDERR_FILENO);
	FILE *pause = fopen(fx.pause_file, "w");
	assert_non_null(pause);
	fclose(pause);

	struct paused_check p = {.header = header};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, run_check, &p), 0);
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
	for (int i = 0; i < 2000 && !file_has(log_path, "a verification is paused"); i++)
		nanosleep(&tick, NULL);
	bool paused = file_has(log_path, "a verification is paused");
	/* The revocation: committed, then forgotten, as the handlers do. */
	revoke_key(key_id);
	auth_forget_account(fx.auth, fx.cashier_id);
	unlink(fx.pause_file);
	pthread_join(t, NULL);

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(log_fd);
	assert_true(paused);
	/* The check had verified the key, but it decides after the revocation: it looks again
	 * and finds the key revoked; and what it verified first is not in the cache. */
	assert_int_equal(p.result, AUTH_FAILED);
	assert_true(file_has(log_path, "an account changed while its login was checked"));
	struct who who;
	assert_int_equal(check(header, &who), AUTH_FAILED);
}

#define HIT_THREADS 4
#define HITS 20000

struct hitter {
	const char *header[2];
	int64_t account[2];
	enum role role[2];
	long wrong, refused;
};

static atomic_bool hitters_done;

static void *hit(void *arg)
{
	struct hitter *h = arg;
	struct store_conn *c = fx.st->ops->acquire(fx.st);
	for (int i = 0; i < HITS; i++) {
		int k = i & 1;
		struct who who;
		int64_t retry_after = 0;
		memset(&who, 0, sizeof(who));
		if (auth_check(fx.auth, c, h->header[k], ADDR, &who, &retry_after) != AUTH_OK)
			h->refused++;
		else if (who.account_id != h->account[k] || who.role != h->role[k] ||
			 who.merchant_id != fx.merchant_id)
			h->wrong++;
	}
	c->ops->release(c);
	return NULL;
}

static void *forget(void *arg)
{
	(void)arg;
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000};
	for (int i = 0; !atomic_load(&hitters_done); i++) {
		auth_forget_account(fx.auth, i & 1 ? fx.owner_id : fx.cashier_id);
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static void test_hits_racing_fills_and_forgets_get_their_own_account(void **state)
{
	(void)state;
	char owner_header[256], cashier_header[256];
	int64_t owner_key, cashier_key;
	make_key(fx.owner_id, "owner@example.com", owner_header, sizeof(owner_header), &owner_key);
	make_key(fx.cashier_id, "cashier@example.com", cashier_header, sizeof(cashier_header),
		 &cashier_key);
	struct hitter h[HIT_THREADS];
	pthread_t hs[HIT_THREADS], f;
	for (int i = 0; i < HIT_THREADS; i++) {
		/* Half the threads start with the other key, so both are read and filled at
		 * once. */
		int first = i & 1;
		h[i] = (struct hitter){
		    .header = {first ? cashier_header : owner_header,
			       first ? owner_header : cashier_header},
		    .account = {first ? fx.cashier_id : fx.owner_id,
				first ? fx.owner_id : fx.cashier_id},
		    .role = {first ? ROLE_CASHIER : ROLE_OWNER, first ? ROLE_OWNER : ROLE_CASHIER},
		};
	}
	atomic_store(&hitters_done, false);
	assert_int_equal(pthread_create(&f, NULL, forget, NULL), 0);
	for (int i = 0; i < HIT_THREADS; i++)
		assert_int_equal(pthread_create(&hs[i], NULL, hit, &h[i]), 0);
	for (int i = 0; i < HIT_THREADS; i++)
		pthread_join(hs[i], NULL);
	atomic_store(&hitters_done, true);
	pthread_join(f, NULL);
	/* Never another account. A check that saw its account forgotten three times while it
	 * ran is refused by design (check_credentials: "kept changing"), which a forget every
	 * 200 us can cause on a slow (sanitizer) build; most hits still pass. */
	for (int i = 0; i < HIT_THREADS; i++) {
		assert_int_equal(h[i].wrong, 0);
		assert_true(h[i].refused < HITS / 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_is_cached_until_forgotten),
	    cmocka_unit_test(test_check_begun_before_a_revocation_is_not_kept),
	    cmocka_unit_test(test_hits_racing_fills_and_forgets_get_their_own_account),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
