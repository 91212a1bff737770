/* Basic auth with a verified-credential cache and lockout (see auth.h).
 *
 * The cache is direct-mapped, keyed by a keyed BLAKE2b hash of "login\0password" with a key
 * drawn at start-up, so neither the password nor anything that can be tested against it
 * offline is kept. Lockout counters are direct-mapped tables keyed the same way; an entry
 * that is locked is never evicted by a colliding one. Failed verifications of an unknown login
 * run Argon2 against a dummy hash so that timing does not tell which logins exist.
 *
 * Every request reads the cache and the lockout tables; few write them (a verification, a
 * failure, a revocation). So each slot is a sequence lock (core/seqlock.h): a request that
 * finds its credential cached, or locked, decides without taking any lock, and only writers
 * take mu, which every request took before (docs/PERFORMANCE.md, "Reads without
 * process-wide locks"). */
#include "api/auth.h"

#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/seqlock.h"
#include "domain/lk.h"
#include "domain/text.h"
#include "store/accounts.h"

#define CACHE_SLOTS 4096
#define LOCK_SLOTS 8192
#define KEY_BYTES 16
/* Credentials being verified at once (a request beyond this verifies on its own). */
#define FLIGHT_SLOTS 64
/* Accounts share an epoch slot by id modulo this: a collision only makes a check look again. */
#define EPOCH_SLOTS 4096

struct cache_entry {
	unsigned char key[KEY_BYTES];
	bool used;
	int64_t expires_us;
	struct who who;
};

/* A cache entry as stored: read with cache_get, written with cache_put (mu held). */
struct cache_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t words[SEQLOCK_WORDS(sizeof(struct cache_entry))];
};

/* A credential whose Argon2 verification is under way: requests with the same credential
 * that miss the cache meanwhile wait for it instead of running their own (single-flight).
 * Without it, every request in flight when a cached credential expired ran Argon2 (64 MiB
 * each): the 150-170 MiB peaks and ~0.5 s stalls of docs/PERFORMANCE.md. */
struct flight {
	unsigned char key[KEY_BYTES];
	bool busy;
};

struct lock_entry {
	unsigned char key[KEY_BYTES];
	bool used;
	int64_t window_start_us;
	int64_t failures;
	int64_t locked_until_us;
};

/* A lockout entry as stored: read with lock_get, written with lock_put (mu held). */
struct lock_slot {
	_Atomic uint64_t seq;
	_Atomic uint64_t words[SEQLOCK_WORDS(sizeof(struct lock_entry))];
};

struct auth {
	unsigned char hash_key[crypto_generichash_KEYBYTES];
	/* Serializes the writers of cache, logins and addrs (their readers take no lock) and
	 * guards flights, forgot_epoch and the writes of epoch. */
	pthread_mutex_t mu;
	struct cache_slot cache[CACHE_SLOTS];
	struct flight flights[FLIGHT_SLOTS];
	pthread_cond_t flight_done; /* broadcast (with mu) when a flight ends */
	struct lock_slot logins[LOCK_SLOTS];
	struct lock_slot addrs[LOCK_SLOTS];
	/* Bumped by every auth_forget_account; forgot_epoch[slot of an account] holds the epoch of
	 * the latest one for an account of the slot (see check_credentials). */
	_Atomic uint64_t epoch;
	uint64_t forgot_epoch[EPOCH_SLOTS];
	sem_t argon_slots;
	char dummy_hash[AUTH_HASH_MAX];
	int64_t cache_us, window_us, lock_us;
	int64_t login_limit, addr_limit;
	char *pause_file; /* --test-auth-pause-file (testing only); NULL: none */
};

bool auth_hash_password(const char *password, char *out)
{
	return crypto_pwhash_str(out, password, strlen(password),
				 crypto_pwhash_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

struct auth *auth_create(const struct config *cfg)
{
	if (sodium_init() < 0)
		return NULL;
	struct auth *a = xcalloc(1, sizeof(*a));
	crypto_generichash_keygen(a->hash_key);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->flight_done, NULL);
	sem_init(&a->argon_slots, 0, (unsigned)cfg->argon2_concurrency);
	char pw[33];
	random_hex(pw, 16);
	if (!auth_hash_password(pw, a->dummy_hash)) {
		free(a);
		return NULL;
	}
	a->cache_us = cfg->auth_cache_seconds * 1000000;
	a->window_us = cfg->lockout_window_seconds * 1000000;
	a->lock_us = cfg->lockout_seconds * 1000000;
	a->login_limit = cfg->lockout_login_failures;
	a->addr_limit = cfg->lockout_addr_failures;
	if (cfg->test_auth_pause_file && *cfg->test_auth_pause_file)
		a->pause_file = xstrdup(cfg->test_auth_pause_file);
	return a;
}

void auth_destroy(struct auth *a)
{
	if (!a)
		return;
	free(a->pause_file);
	sem_destroy(&a->argon_slots);
	pthread_cond_destroy(&a->flight_done);
	pthread_mutex_destroy(&a->mu);
	sodium_memzero(a, sizeof(*a));
	free(a);
}

static void keyed(const struct auth *a, const char *tag, const char *s1, const char *s2,
		  unsigned char out[KEY_BYTES])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, a->hash_key, sizeof(a->hash_key), KEY_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)tag, strlen(tag) + 1);
	crypto_generichash_update(&st, (const unsigned char *)s1, strlen(s1) + 1);
	if (s2)
		crypto_generichash_update(&st, (const unsigned char *)s2, strlen(s2));
	crypto_generichash_final(&st, out, KEY_BYTES);
}

static size_t slot_of(const unsigned char key[KEY_BYTES], size_t slots)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)(h % slots);
}

static void cache_get(struct cache_slot *slot, struct cache_entry *out)
{
	seqlock_read(&slot->seq, slot->words, out, sizeof(*out));
}

/* Caller holds mu. */
static void cache_put(struct cache_slot *slot, const struct cache_entry *e)
{
	seqlock_write(&slot->seq, slot->words, e, sizeof(*e));
}

static void lock_get(struct lock_slot *slot, struct lock_entry *out)
{
	seqlock_read(&slot->seq, slot->words, out, sizeof(*out));
}

/* Caller holds mu. */
static void lock_put(struct lock_slot *slot, const struct lock_entry *e)
{
	seqlock_write(&slot->seq, slot->words, e, sizeof(*e));
}

/* Seconds a lock entry still has (0: not locked). Takes no lock. */
static int64_t locked_for(struct lock_slot *table, const unsigned char key[KEY_BYTES],
			  int64_t now_us)
{
	struct lock_entry e;
	lock_get(&table[slot_of(key, LOCK_SLOTS)], &e);
	if (!e.used || memcmp(e.key, key, KEY_BYTES) != 0 || e.locked_until_us <= now_us)
		return 0;
	return (e.locked_until_us - now_us + 999999) / 1000000;
}

/* Counts one failure; locks the entry at the limit. Caller holds mu. */
static void count_failure(struct auth *a, struct lock_slot *table,
			  const unsigned char key[KEY_BYTES], int64_t limit, int64_t now_us)
{
	struct lock_slot *slot = &table[slot_of(key, LOCK_SLOTS)];
	struct lock_entry e;
	lock_get(slot, &e);
	if (!e.used || memcmp(e.key, key, KEY_BYTES) != 0) {
		if (e.used && e.locked_until_us > now_us)
			return; /* never evict a live lock */
		memset(&e, 0, sizeof(e));
		memcpy(e.key, key, KEY_BYTES);
		e.used = true;
	}
	if (now_us - e.window_start_us > a->window_us) {
		e.window_start_us = now_us;
		e.failures = 0;
	}
	if (++e.failures >= limit && e.locked_until_us <= now_us) {
		log_warn("auth: %s locked for %lld s after %lld failed logins",
			 table == a->logins ? "a login" : "a client address",
			 (long long)(a->lock_us / 1000000), (long long)e.failures);
		e.locked_until_us = now_us + a->lock_us;
		metrics_add(M_AUTH_LOCKOUTS, 1);
		e.failures = 0;
		e.window_start_us = now_us;
	}
	lock_put(slot, &e);
}

/* Caller holds mu. */
static void clear_failures(struct lock_slot *table, const unsigned char key[KEY_BYTES])
{
	struct lock_slot *slot = &table[slot_of(key, LOCK_SLOTS)];
	struct lock_entry e;
	lock_get(slot, &e);
	if (e.used && memcmp(e.key, key, KEY_BYTES) == 0 && e.locked_until_us == 0) {
		memset(&e, 0, sizeof(e));
		lock_put(slot, &e);
	}
}

/* Makes the local table show a lock another node (or an earlier run) recorded in the
 * database, so the next requests need not ask the database. Caller holds mu. */
static void mirror_lock(struct lock_slot *table, const unsigned char key[KEY_BYTES],
			int64_t locked_until_us)
{
	struct lock_entry e;
	memset(&e, 0, sizeof(e));
	memcpy(e.key, key, KEY_BYTES);
	e.used = true;
	e.locked_until_us = locked_until_us;
	lock_put(&table[slot_of(key, LOCK_SLOTS)], &e);
}

/* The name of a login's or an address's counter in the database: the same on every node
 * (a plain digest; the per-process key of the cache would differ between nodes). */
static void db_key(const char *tag, const char *s, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
	crypto_hash_sha256_state st;
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)tag, strlen(tag) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)s, strlen(s));
	crypto_hash_sha256_final(&st, digest);
	sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, digest, sizeof(digest));
}

/* Counts one failure on a counter; true when it locks now. */
static bool counter_fail(struct auth_counter *c, int64_t now_ms, int64_t window_ms, int64_t limit,
			 int64_t lock_ms)
{
	if (c->locked_until_ms && c->locked_until_ms <= now_ms) {
		c->locked_until_ms = 0;
		c->failures = 0;
		c->window_start_ms = now_ms;
	}
	if (now_ms - c->window_start_ms > window_ms) {
		c->window_start_ms = now_ms;
		c->failures = 0;
	}
	if (++c->failures >= limit && c->locked_until_ms <= now_ms) {
		c->locked_until_ms = now_ms + lock_ms;
		c->failures = 0;
		c->window_start_ms = now_ms;
		return true;
	}
	return false;
}

/* Counts a failure for the login and the address in the database, in one write transaction.
 * Fills the lock ends (0: not locked). */
static enum store_rc db_count_failure(struct auth *a, struct store_conn *db, const char *keys[2],
				      const int64_t limits[2], int64_t until_out[2])
{
	enum store_rc rc = STORE_RETRY;
	for (int attempt = 0; attempt < 3 && rc == STORE_RETRY; attempt++) {
		rc = STORE(db, begin, true);
		int64_t now = now_ms();
		for (int i = 0; i < 2 && rc == STORE_OK; i++) {
			struct auth_counter c = {.window_start_ms = now};
			rc = STORE(db, auth_counter_get, keys[i], &c);
			if (rc == STORE_NOT_FOUND)
				rc = STORE_OK;
			if (rc != STORE_OK)
				break;
			if (counter_fail(&c, now, a->window_us / 1000, limits[i],
					 a->lock_us / 1000)) {
				metrics_add(M_AUTH_LOCKOUTS, 1);
				log_warn("auth: %s locked for %lld s after repeated failed logins",
					 i == 0 ? "a login" : "a client address",
					 (long long)(a->lock_us / 1000000));
			}
			until_out[i] = c.locked_until_ms > now ? c.locked_until_ms : 0;
			rc = STORE(db, auth_counter_put, keys[i], &c);
		}
		if (rc == STORE_OK)
			rc = STORE(db, commit);
		if (rc != STORE_OK)
			db->ops->rollback(db);
	}
	return rc;
}

/* The login as accounts are found by: a lower-cased email or a phone's digits. */
static bool normalize_login(const char *raw_login, char *login, size_t login_cap)
{
	if (!*raw_login)
		return false;
	if (strchr(raw_login, '@')) {
		char email[EMAIL_MAX + 1];
		if (!email_normalize(raw_login, email))
			return false;
		text_ascii_lower(email);
		snprintf(login, login_cap, "%s", email);
	} else {
		char phone[PHONE_MAX_DIGITS + 1];
		if (!phone_normalize(raw_login, phone))
			return false;
		snprintf(login, login_cap, "%s", phone);
	}
	return true;
}

bool auth_parse_basic(const char *header, char *login, size_t login_cap, char *password,
		      size_t password_cap)
{
	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return false;
	const char *b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	size_t b64_len = strlen(b64);
	while (b64_len && b64[b64_len - 1] == ' ')
		b64_len--;
	unsigned char decoded[1024];
	size_t n = 0;
	if (b64_len == 0 || b64_len > 1300 ||
	    sodium_base642bin(decoded, sizeof(decoded) - 1, b64, b64_len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return false;
	decoded[n] = '\0';
	bool ok = !memchr(decoded, '\0', n) && text_utf8_valid((const char *)decoded, n);
	char *colon = ok ? strchr((char *)decoded, ':') : NULL;
	if (colon) {
		*colon = '\0';
		ok = strlen(colon + 1) < password_cap &&
		     normalize_login((const char *)decoded, login, login_cap);
		if (ok)
			strcpy(password, colon + 1);
	}
	sodium_memzero(decoded, sizeof(decoded));
	return ok && colon;
}

bool auth_key_parse(const char *key, int64_t *id_out, const char **secret_out)
{
	/* "kpk_<id>_<32 hex>" */
	if (strncmp(key, "kpk_", 4) != 0)
		return false;
	const char *p = key + 4;
	int64_t id = 0;
	int digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
		id = id * 10 + (*p - '0');
	if (digits == 0 || id <= 0 || *p != '_' || strlen(p + 1) != 32)
		return false;
	for (const char *h = p + 1; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return false;
	*id_out = id;
	*secret_out = p + 1;
	return true;
}

void auth_key_digest(const char *secret, char out[65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, (const unsigned char *)secret, strlen(secret));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* Test hook (--test-auth-pause-file, testing only): while the file exists, a verification that
 * has run waits before its result is used, at most 60 s. A test makes a check slow at a point
 * it can see in the log, revokes the credential meanwhile, then lets the check go on: a state
 * to await instead of a race to win (tests/api/test_staff.py). */
static void test_pause(const struct auth *a)
{
	struct stat st;
	if (!a->pause_file || stat(a->pause_file, &st) != 0)
		return;
	log_warn("auth: test hook: a verification is paused");
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
	for (int i = 0; i < 6000 && stat(a->pause_file, &st) == 0; i++)
		nanosleep(&tick, NULL);
	log_warn("auth: test hook: the verification goes on");
}

/* An API key is 128 random bits: a plain SHA-256 is as safe to store as Argon2 would be and
 * costs nothing to check, so keys never wait for Argon2. */
static bool verify_key(const struct auth *a, struct store_conn *db, int64_t key_id,
		       const char *secret, int64_t account_id)
{
	struct api_key k = {0};
	char digest[65];
	auth_key_digest(secret, digest);
	enum store_rc rc = STORE(db, api_key_get, key_id, &k);
	test_pause(a);
	if (rc != STORE_OK)
		return false;
	bool same = sodium_memcmp(k.hash, digest, 64) == 0;
	return same && !k.revoked && account_id != 0 && k.account_id == account_id;
}

/* The parameters of an encoded Argon2 hash ("$argon2id$v=19$m=65536,t=2,p=1"): the hash up to
 * its salt, nothing secret. */
static void hash_params(const char *hash, char *out, size_t cap)
{
	size_t n = 0;
	for (int dollars = 0; hash[n]; n++)
		if (hash[n] == '$' && ++dollars == 4)
			break;
	snprintf(out, cap, "%.*s", (int)n, hash);
}

static bool verify(struct auth *a, const char *hash, const char *password)
{
	sem_wait(&a->argon_slots);
	bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	sem_post(&a->argon_slots);
	metrics_add(M_AUTH_ARGON2, 1);
	/* Tests count these lines to prove that cached and locked requests skip Argon2, and compare
	 * the parameters to prove that an unknown login costs what a known one does. */
	char params[64];
	hash_params(hash, params, sizeof(params));
	log_debug("auth: argon2 verification (%s; %s)", ok ? "match" : "no match", params);
	test_pause(a);
	return ok;
}

/* The flight verifying this credential, or -1. Caller holds mu. */
static int flight_find(const struct auth *a, const unsigned char key[KEY_BYTES])
{
	for (int i = 0; i < FLIGHT_SLOTS; i++)
		if (a->flights[i].busy && memcmp(a->flights[i].key, key, KEY_BYTES) == 0)
			return i;
	return -1;
}

/* Starts a flight for the credential; -1 when all slots are busy. Caller holds mu. */
static int flight_claim(struct auth *a, const unsigned char key[KEY_BYTES])
{
	for (int i = 0; i < FLIGHT_SLOTS; i++) {
		if (!a->flights[i].busy) {
			memcpy(a->flights[i].key, key, KEY_BYTES);
			a->flights[i].busy = true;
			return i;
		}
	}
	return -1;
}

static enum auth_result check_credentials(struct auth *a, struct store_conn *db, const char *login,
					  char *password, const char *addr, struct who *who,
					  int64_t *retry_after_s);

enum auth_result auth_check(struct auth *a, struct store_conn *db, const char *authorization,
			    const char *addr, struct who *who, int64_t *retry_after_s)
{
	char login[EMAIL_MAX + 1], password[512];
	if (!auth_parse_basic(authorization, login, sizeof(login), password, sizeof(password)))
		return AUTH_MISSING;
	enum auth_result r = check_credentials(a, db, login, password, addr, who, retry_after_s);
	sodium_memzero(password, sizeof(password));
	return r;
}

/* A login and a secret given apart: only an API key when key_wanted, only a password
 * otherwise; the other kind, a secret too long or a malformed login is AUTH_FAILED unread. */
static enum auth_result check_apart(struct auth *a, struct store_conn *db, const char *raw_login,
				    const char *secret, bool key_wanted, const char *addr,
				    struct who *who, int64_t *retry_after_s)
{
	char login[EMAIL_MAX + 1], password[512];
	int64_t key_id;
	const char *key_secret;
	if (strlen(secret) >= sizeof(password) ||
	    auth_key_parse(secret, &key_id, &key_secret) != key_wanted ||
	    !normalize_login(raw_login, login, sizeof(login)))
		return AUTH_FAILED;
	strcpy(password, secret);
	enum auth_result r = check_credentials(a, db, login, password, addr, who, retry_after_s);
	sodium_memzero(password, sizeof(password));
	return r;
}

enum auth_result auth_check_pair(struct auth *a, struct store_conn *db, const char *raw_login,
				 const char *secret, const char *addr, struct who *who,
				 int64_t *retry_after_s)
{
	/* Only an API key: a password never travels in a query string (it would end up in
	 * proxies' and browsers' logs), so one there is refused unread, costing no Argon2. */
	return check_apart(a, db, raw_login, secret, true, addr, who, retry_after_s);
}

enum auth_result auth_check_login(struct auth *a, struct store_conn *db, const char *raw_login,
				  const char *password, const char *addr, struct who *who,
				  int64_t *retry_after_s)
{
	/* A key is for programs: the cabinet is a person's, signed in with the password. */
	return check_apart(a, db, raw_login, password, false, addr, who, retry_after_s);
}

/* The counter a failure is charged to: the account's own when the login names one (whichever
 * of its logins was used: email or phone), else the login as given. In memory (key) and in
 * the database (db, the same on every node). */
static void principal_of(const struct auth *a, const struct account *acc, const char *login,
			 unsigned char key[KEY_BYTES], char db[crypto_hash_sha256_BYTES * 2 + 1])
{
	if (acc) {
		char id[24];
		snprintf(id, sizeof(id), "%lld", (long long)acc->id);
		keyed(a, "account", id, NULL, key);
		db_key("account", id, db);
	} else {
		keyed(a, "login", login, NULL, key);
		db_key("login", login, db);
	}
}

/* Whether the account's credentials were forgotten (auth_forget_account) after the epoch a
 * check began in. Caller holds mu. */
static bool forgotten_since(const struct auth *a, int64_t account_id, uint64_t epoch)
{
	return a->forgot_epoch[(uint64_t)account_id % EPOCH_SLOTS] > epoch;
}

enum cached { CACHED_NONE, CACHED_OK, CACHED_LOCKED };

/* What memory alone says of a credential: its login or the client's address is locked, or
 * it was verified and its account is not locked through another of its logins (CACHED_OK,
 * *who filled), or nothing (look in the database). Takes no lock: each slot is read whole
 * as one writer left it, so the answer is one the tables held at some moment of the call. */
static enum cached cached_decision(struct auth *a, const unsigned char cred_key[KEY_BYTES],
				   const unsigned char login_key[KEY_BYTES],
				   const unsigned char addr_key[KEY_BYTES], int64_t now,
				   struct who *who, int64_t *retry_after_s)
{
	int64_t wait_login = locked_for(a->logins, login_key, now);
	int64_t wait_addr = locked_for(a->addrs, addr_key, now);
	if (wait_login || wait_addr) {
		*retry_after_s = wait_login > wait_addr ? wait_login : wait_addr;
		return CACHED_LOCKED;
	}
	struct cache_entry ce;
	cache_get(&a->cache[slot_of(cred_key, CACHE_SLOTS)], &ce);
	if (!ce.used || memcmp(ce.key, cred_key, KEY_BYTES) != 0 || ce.expires_us <= now)
		return CACHED_NONE;
	/* The account may be locked through another of its logins. */
	char id[24];
	unsigned char account_key[KEY_BYTES];
	snprintf(id, sizeof(id), "%lld", (long long)ce.who.account_id);
	keyed(a, "account", id, NULL, account_key);
	int64_t wait_account = locked_for(a->logins, account_key, now);
	if (wait_account) {
		*retry_after_s = wait_account;
		return CACHED_LOCKED;
	}
	*who = ce.who;
	return CACHED_OK;
}

/* Authenticates a normalized login and its password (the callers wipe it).
 *
 * Revocation: auth_forget_account runs after the revoking transaction committed and before
 * its answer is sent, and bumps the account's epoch under mu. A check reads the epoch before it
 * reads the account and decides under mu that the epoch did not move. So a check either saw
 * the revocation in the database, or decided (and cached) before the revocation was answered;
 * one that read the account before and finished after looks again (the role may have changed,
 * the password or key may be gone). A cache hit takes no lock: it reads the slot either before
 * auth_forget_account emptied it (and so decided before the revocation was answered) or
 * after. */
static enum auth_result check_credentials(struct auth *a, struct store_conn *db, const char *login,
					  char *password, const char *addr, struct who *who,
					  int64_t *retry_after_s)
{
	enum auth_result result = AUTH_FAILED;
	unsigned char cred_key[KEY_BYTES], login_key[KEY_BYTES], addr_key[KEY_BYTES];
	keyed(a, "cred", login, password, cred_key);
	keyed(a, "login", login, NULL, login_key);
	keyed(a, "addr", addr, NULL, addr_key);
	int flight = -1; /* the flight this request leads, released at cleanup */
	int64_t now;
	struct account acc = {0};
	/* The hash this password matched, so that a look again after a change that kept the
	 * password (a role change, another key revoked) needs no second Argon2 run. */
	char matched_hash[AUTH_HASH_MAX] = "";

again:
	now = mono_us();
	enum cached decided =
	    cached_decision(a, cred_key, login_key, addr_key, now, who, retry_after_s);
	if (decided == CACHED_NONE && a->cache_us > 0) {
		pthread_mutex_lock(&a->mu);
		/* Another request is verifying this very credential: wait for it, then look
		 * again (a cache hit if it matched; if it did not, this request verifies and
		 * counts its own failure, one at a time per credential). */
		int other = flight_find(a, cred_key);
		if (other >= 0) {
			while (a->flights[other].busy &&
			       memcmp(a->flights[other].key, cred_key, KEY_BYTES) == 0)
				pthread_cond_wait(&a->flight_done, &a->mu);
			pthread_mutex_unlock(&a->mu);
			goto again;
		}
		/* No flight: none began, or one ended since the look above, having filled the
		 * cache first (both under mu): look once more before verifying. */
		decided =
		    cached_decision(a, cred_key, login_key, addr_key, now, who, retry_after_s);
		if (decided == CACHED_NONE)
			flight = flight_claim(a, cred_key);
		pthread_mutex_unlock(&a->mu);
	}
	if (decided == CACHED_LOCKED) {
		metrics_add(M_AUTH_LOCKED_REQUESTS, 1);
		result = AUTH_LOCKED;
		goto cleanup;
	}
	if (decided == CACHED_OK) {
		metrics_add(M_AUTH_CACHE_HITS, 1);
		result = AUTH_OK;
		goto cleanup;
	}

	for (int attempt = 0;; attempt++) {
		uint64_t epoch = atomic_load(&a->epoch);
		int64_t read_us = mono_us(); /* a cached result expires counting from here */
		account_clear(&acc);
		enum store_rc rc = STORE(db, account_find_login, login, &acc);
		if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
			result = AUTH_ERROR;
			goto cleanup;
		}
		bool known = rc == STORE_OK;
		unsigned char principal_key[KEY_BYTES];
		char principal_db[crypto_hash_sha256_BYTES * 2 + 1];
		principal_of(a, known ? &acc : NULL, login, principal_key, principal_db);
		int64_t wait_principal = locked_for(a->logins, principal_key, mono_us());
		if (wait_principal) { /* locked through another login, or counted in memory */
			*retry_after_s = wait_principal;
			metrics_add(M_AUTH_LOCKED_REQUESTS, 1);
			result = AUTH_LOCKED;
			goto cleanup;
		}

		/* The counters every node shares: a lock recorded by another node refuses here
		 * too, before any Argon2 work. */
		char addr_db[crypto_hash_sha256_BYTES * 2 + 1];
		db_key("addr", addr, addr_db);
		const char *db_keys[2] = {principal_db, addr_db};
		struct auth_counter counters[2] = {{0}, {0}};
		int64_t wall = now_ms();
		for (int i = 0; i < 2; i++) {
			enum store_rc crc = STORE(db, auth_counter_get, db_keys[i], &counters[i]);
			if (crc != STORE_OK && crc != STORE_NOT_FOUND) {
				result = AUTH_ERROR;
				goto cleanup;
			}
		}
		int64_t until = counters[0].locked_until_ms > counters[1].locked_until_ms
				    ? counters[0].locked_until_ms
				    : counters[1].locked_until_ms;
		if (until > wall) {
			now = mono_us();
			pthread_mutex_lock(&a->mu);
			if (counters[0].locked_until_ms > wall) {
				int64_t end = now + (counters[0].locked_until_ms - wall) * 1000;
				mirror_lock(a->logins, principal_key, end);
				if (known) /* this login string refuses at once next time */
					mirror_lock(a->logins, login_key, end);
			}
			if (counters[1].locked_until_ms > wall)
				mirror_lock(a->addrs, addr_key,
					    now + (counters[1].locked_until_ms - wall) * 1000);
			pthread_mutex_unlock(&a->mu);
			*retry_after_s = (until - wall + 999) / 1000;
			metrics_add(M_AUTH_LOCKED_REQUESTS, 1);
			result = AUTH_LOCKED;
			goto cleanup;
		}

		int64_t key_id = 0;
		const char *secret = NULL;
		const char *hash = known ? acc.password_hash : a->dummy_hash;
		bool ok;
		if (auth_key_parse(password, &key_id, &secret))
			ok = verify_key(a, db, key_id, secret, known ? acc.id : 0);
		else if (known && *matched_hash && hash && strcmp(matched_hash, hash) == 0)
			ok = true; /* looking again: it matched this very hash before */
		else
			ok = verify(a, hash, password) && known;
		if (ok && !key_id)
			snprintf(matched_hash, sizeof(matched_hash), "%s", acc.password_hash);

		if (!ok) {
			metrics_add(M_AUTH_FAILURES, 1);
			const int64_t limits[2] = {a->login_limit, a->addr_limit};
			int64_t locked_until[2] = {0, 0};
			enum store_rc frc = db_count_failure(a, db, db_keys, limits, locked_until);
			wall = now_ms();
			now = mono_us();
			pthread_mutex_lock(&a->mu);
			if (frc == STORE_OK) {
				for (int i = 0; i < 2; i++)
					if (locked_until[i] > wall)
						mirror_lock(i == 0 ? a->logins : a->addrs,
							    i == 0 ? principal_key : addr_key,
							    now + (locked_until[i] - wall) * 1000);
			} else {
				/* The database cannot count now: in memory, this node alone. */
				count_failure(a, a->logins, principal_key, a->login_limit, now);
				count_failure(a, a->addrs, addr_key, a->addr_limit, now);
			}
			pthread_mutex_unlock(&a->mu);
			result = AUTH_FAILED;
			break;
		}

		who->account_id = acc.id;
		who->merchant_id = acc.merchant_id;
		who->kind = acc.kind;
		who->role = lk_effective_role(&acc);
		who->cred_version = acc.cred_version;
		pthread_mutex_lock(&a->mu);
		bool current = !forgotten_since(a, acc.id, epoch);
		if (current) {
			if (a->cache_us > 0) {
				struct cache_entry ce;
				memset(&ce, 0, sizeof(ce));
				memcpy(ce.key, cred_key, KEY_BYTES);
				ce.used = true;
				ce.expires_us = read_us + a->cache_us;
				ce.who = *who;
				cache_put(&a->cache[slot_of(cred_key, CACHE_SLOTS)], &ce);
			}
			clear_failures(a->logins, principal_key);
		}
		pthread_mutex_unlock(&a->mu);
		if (current) {
			if (counters[0].failures > 0) {
				/* A right password clears the account's failures only. */
				struct auth_counter zero = {.window_start_ms = now_ms()};
				if (STORE(db, begin, true) == STORE_OK &&
				    STORE(db, auth_counter_put, principal_db, &zero) == STORE_OK &&
				    STORE(db, commit) == STORE_OK)
					;
				else
					db->ops->rollback(db);
			}
			result = AUTH_OK;
			break;
		}
		memset(who, 0, sizeof(*who));
		if (attempt == 2) {
			/* Changed again and again while being checked: refuse, count nothing. */
			log_warn("auth: an account kept changing while its login was checked");
			result = AUTH_FAILED;
			break;
		}
		log_info("auth: an account changed while its login was checked; checking again");
	}
cleanup:
	account_clear(&acc);
	sodium_memzero(matched_hash, sizeof(matched_hash));
	if (flight >= 0) {
		pthread_mutex_lock(&a->mu);
		a->flights[flight].busy = false;
		pthread_cond_broadcast(&a->flight_done);
		pthread_mutex_unlock(&a->mu);
	}
	return result;
}

void auth_forget_account(struct auth *a, int64_t account_id)
{
	pthread_mutex_lock(&a->mu);
	/* Checks that began before this and have not decided yet will look again. */
	a->forgot_epoch[(uint64_t)account_id % EPOCH_SLOTS] = atomic_fetch_add(&a->epoch, 1) + 1;
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		struct cache_entry ce;
		cache_get(&a->cache[i], &ce);
		if (ce.used && ce.who.account_id == account_id) {
			ce.used = false;
			cache_put(&a->cache[i], &ce);
		}
	}
	pthread_mutex_unlock(&a->mu);
}
