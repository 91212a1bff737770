/* kopilka-gen: fills a kopilka database with a realistic merchant for the benchmarks.
 *
 *   kopilka-gen --db PATH   --clients N --orders M --keys KEYFILE   (SQLite, in place)
 *   kopilka-gen --pg        --clients N --orders M --keys KEYFILE   (a SQL stream on stdout for
 * psql)
 *
 * The database must have been made by `kopilkad init` (merchant 1 and its owner, with a real
 * Argon2 password hash) and hold no clients yet. Rows are written straight into the schema of
 * src/store/sqlite_schema.h / pg_schema.h:
 *
 *   clients    1..N, phone 79XXXXXXXXX (a bijection of the id, so unique and scattered),
 *              90% with an email, a Russian name, a 32-hex token; statistics columns equal to
 *              what their orders add up to (API.md 2.1);
 *   coupons    one catalog coupon; every 10th client holds one usable instance of it, with two
 *              unique 6-digit codes in coupon_codes;
 *   orders     M sales spread over the clients (0..4 each, chronological), 1..3 items each,
 *              a 5% accrual of the money paid as a lot expiring 365 days later, some spending
 *              points from the soonest-expiring lots (lot_takes); lots already expired are
 *              written off by an `expire` ledger row, as the server's sweep would have done;
 *   welcome    every client has a never-expiring 100-point lot, and the history never leaves
 *              it under 10 points, so the order workload can always spend 1 point;
 *   balances   per client: balance = sum of ledger rows = sum of lots remaining (debt 0),
 *              which `kopilkad check` verifies.
 *   client_phone_trigrams (SQLite) one row per distinct trigram of each phone, as the
 *              triggers of migration 9 would write it (PostgreSQL: its GIN index, built last);
 *   report_*, ledger_days, lot_days  the dashboard's aggregates, written by their triggers
 *              as the rows above go in (store/report_sql.h).
 *
 * KEYFILE gets one line per sampled client, "id phone email has_coupon", read by the wrk Lua
 * scripts. SQLite: one transaction, journal off while loading, secondary indexes dropped and
 * rebuilt (CREATE INDEX sorts, far faster than random inserts), the triggers on clients
 * dropped and the trigram table filled in key order instead, WAL restored at the end.
 * Deterministic for a given --seed. */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}
static uint64_t rnd(void)
{
	rng_state += 0x9E3779B97F4A7C15ULL;
	return mix64(rng_state);
}
static int64_t rnd_range(int64_t lo, int64_t hi) /* [lo, hi] */
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}
/* 32 lowercase hex characters, unique per (kind, n): mix64 is a bijection. */
static void token32(char out[33], uint64_t kind, uint64_t n)
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)mix64(n ^ (kind << 56)),
		 (unsigned long long)mix64(mix64(n) + kind));
}

/* ---- output: SQLite prepared inserts, or PostgreSQL COPY streams ---- */

enum { V_NULL, V_INT, V_STR };
struct val {
	int t;
	int64_t i;
	const char *s;
};
#define VI(x) ((struct val){V_INT, (x), NULL})
#define VS(x) ((struct val){V_STR, 0, (x)})
#define VN ((struct val){V_NULL, 0, NULL})
#define VSN(x) ((x) ? VS(x) : VN)

enum tbl {
	T_CLIENTS,
	T_BALANCES,
	T_LOTS,
	T_LEDGER,
	T_LOT_TAKES,
	T_COUPONS,
	T_INSTANCES,
	T_CODES,
	T_ORDERS,
	T_ITEMS,
	T__N
};
static const char *const tbl_name[T__N] = {
    "clients", "balances",	   "lots",	   "ledger", "lot_takes",
    "coupons", "coupon_instances", "coupon_codes", "orders", "order_items"};
static const char *const tbl_cols[T__N] = {
    "id, merchant_id, email, email_lc, phone, name, token, paid_purchases, total_purchases,"
    " total_amount, paid_amount, created_ms",
    "client_id, currency, merchant_id, balance, debt, held",
    "id, merchant_id, client_id, currency, remaining, original, expires_ms, order_id, created_ms",
    "id, merchant_id, client_id, currency, amount, type, order_id, created_ms",
    "order_id, lot_id, taken, returned",
    "id, merchant_id, title, header, short_description, style, valid_days, created_ms",
    "id, merchant_id, client_id, coupon_id, status, issued_ms, expires_ms, token, share_token,"
    " merchant_token, merchant_share_token",
    "merchant_id, code, instance_id",
    "id, merchant_id, external_id, receipt_type, order_number, client_id, order_date_ms,"
    " total, card, cash, spent_currency, spent, accrued_currency, accrued, public_token,"
    " request_hash, created_by",
    "id, order_id, merchant_id, line_no, name, price, qty_milli, unit, total",
};
static int tbl_ncols[T__N];

static int pg_mode;
static sqlite3 *db;
static sqlite3_stmt *ins[T__N];
static FILE *pgf[T__N];
static long long rows_written;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "kopilka-gen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void exec(const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err);
}

/* Client i's phone, 79XXXXXXXXX: a bijection of i below 10^9, so unique and scattered. */
static void phone_of(long long i, char out[16])
{
	snprintf(out, 16, "79%09lld",
		 (long long)(((uint64_t)i * 48271ULL + 12345ULL) % 1000000000ULL));
}

/* One entry of client_phone_trigrams (merchant 1): the trigram as its value 0..999 (phones
 * are digits), the phone as a number (all are 11 digits, so numeric order is text order). */
struct trigram_entry {
	uint64_t phone;
	int64_t client_id;
};

static int trigram_entry_cmp(const void *a, const void *b)
{
	const struct trigram_entry *x = a, *y = b;
	if (x->phone != y->phone)
		return x->phone < y->phone ? -1 : 1;
	return (x->client_id > y->client_id) - (x->client_id < y->client_id);
}

/* Fills client_phone_trigrams for clients 1..n in its key order (merchant, trigram, phone,
 * id): a counting sort by trigram, each bucket sorted by phone, appended in order, which
 * SQLite takes far faster than the migration's INSERT ... SELECT ... ORDER BY. The same rows
 * as the triggers would write: one per distinct trigram of each phone. */
static void fill_phone_trigrams(long long n)
{
	size_t *count = calloc(1001, sizeof(*count));
	char phone[16];
	for (int pass = 0; pass < 2; pass++) {
		struct trigram_entry *entries = NULL;
		size_t *at = NULL;
		if (pass == 1) {
			for (int t = 1; t <= 1000; t++)
				count[t] += count[t - 1];
			entries = malloc(count[1000] * sizeof(*entries));
			at = malloc(1000 * sizeof(*at));
			memcpy(at, count, 1000 * sizeof(*at));
			if (!entries || !at)
				die("out of memory for %zu phone trigrams", count[1000]);
		}
		for (long long i = 1; i <= n; i++) {
			phone_of(i, phone);
			int seen[16], n_seen = 0;
			for (int k = 0; phone[k + 2]; k++) {
				int t = (phone[k] - '0') * 100 + (phone[k + 1] - '0') * 10 +
					(phone[k + 2] - '0');
				int dup = 0;
				for (int d = 0; d < n_seen; d++)
					dup |= seen[d] == t;
				if (dup)
					continue;
				seen[n_seen++] = t;
				if (pass == 0)
					count[t + 1]++;
				else
					entries[at[t]++] =
					    (struct trigram_entry){strtoull(phone, NULL, 10), i};
			}
		}
		if (pass == 0)
			continue;
		/* 100 rows a statement: the per-statement cost, not the B-tree append, dominates.
		 */
		enum { BATCH = 100 };
		char sql[4096];
		int o = snprintf(sql, sizeof(sql),
				 "INSERT INTO client_phone_trigrams(merchant_id, tri,"
				 " phone, client_id) VALUES (1,?,?,?)");
		for (int r = 1; r < BATCH; r++)
			o += snprintf(sql + o, sizeof(sql) - (size_t)o, ",(1,?,?,?)");
		sqlite3_stmt *s, *one;
		if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(db,
				       "INSERT INTO client_phone_trigrams(merchant_id, tri, phone,"
				       " client_id) VALUES (1,?,?,?)",
				       -1, &one, NULL) != SQLITE_OK)
			die("client_phone_trigrams: %s", sqlite3_errmsg(db));
		static char tris[1000][4];
		for (int t = 0; t < 1000; t++) {
			snprintf(tris[t], sizeof(tris[t]), "%03d", t);
			qsort(entries + count[t], count[t + 1] - count[t], sizeof(*entries),
			      trigram_entry_cmp);
		}
		static char phones[BATCH][24];
		int t = 0;
		for (size_t e = 0; e < count[1000];) {
			size_t left = count[1000] - e;
			sqlite3_stmt *st = left >= BATCH ? s : one;
			int rows = left >= BATCH ? BATCH : 1;
			for (int r = 0; r < rows; r++, e++) {
				while (e >= count[t + 1])
					t++;
				snprintf(phones[r], sizeof(phones[r]), "%llu",
					 (unsigned long long)entries[e].phone);
				sqlite3_bind_text(st, 3 * r + 1, tris[t], 3, SQLITE_STATIC);
				sqlite3_bind_text(st, 3 * r + 2, phones[r], -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 3 * r + 3, entries[e].client_id);
			}
			if (sqlite3_step(st) != SQLITE_DONE)
				die("client_phone_trigrams: %s", sqlite3_errmsg(db));
			sqlite3_reset(st);
		}
		sqlite3_finalize(one);
		sqlite3_finalize(s);
		rows_written += (long long)count[1000];
		free(entries);
		free(at);
	}
	free(count);
}

static void out_open(void)
{
	for (int t = 0; t < T__N; t++) {
		int n = 1;
		for (const char *p = tbl_cols[t]; *p; p++)
			n += *p == ',';
		tbl_ncols[t] = n;
		if (pg_mode) {
			pgf[t] = tmpfile();
			if (!pgf[t])
				die("tmpfile failed");
			continue;
		}
		char sql[1024];
		int o = snprintf(sql, sizeof(sql), "INSERT INTO %s(%s) VALUES (", tbl_name[t],
				 tbl_cols[t]);
		for (int i = 0; i < n; i++)
			o += snprintf(sql + o, sizeof(sql) - (size_t)o, i ? ",?" : "?");
		snprintf(sql + o, sizeof(sql) - (size_t)o, ")");
		if (sqlite3_prepare_v2(db, sql, -1, &ins[t], NULL) != SQLITE_OK)
			die("prepare %s: %s", sql, sqlite3_errmsg(db));
	}
}

static void row(enum tbl t, int n, const struct val *v)
{
	if (n != tbl_ncols[t])
		die("row of %s: %d values for %d columns", tbl_name[t], n, tbl_ncols[t]);
	rows_written++;
	if (pg_mode) {
		FILE *f = pgf[t];
		for (int i = 0; i < n; i++) {
			if (i)
				fputc('\t', f);
			if (v[i].t == V_NULL)
				fputs("\\N", f);
			else if (v[i].t == V_INT)
				fprintf(f, "%lld", (long long)v[i].i);
			else
				fputs(v[i].s, f); /* generated text: no tab, newline or backslash */
		}
		fputc('\n', f);
		return;
	}
	sqlite3_stmt *s = ins[t];
	for (int i = 0; i < n; i++) {
		if (v[i].t == V_NULL)
			sqlite3_bind_null(s, i + 1);
		else if (v[i].t == V_INT)
			sqlite3_bind_int64(s, i + 1, v[i].i);
		else
			sqlite3_bind_text(s, i + 1, v[i].s, -1, SQLITE_TRANSIENT);
	}
	if (sqlite3_step(s) != SQLITE_DONE)
		die("insert into %s: %s", tbl_name[t], sqlite3_errmsg(db));
	sqlite3_reset(s);
}
#define ROW(t, ...)                                                                                \
	do {                                                                                       \
		struct val v_[] = {__VA_ARGS__};                                                   \
		row(t, (int)(sizeof(v_) / sizeof(v_[0])), v_);                                     \
	} while (0)

/* ---- the merchant's world ---- */

static const char *const first_ru[] = {"Анна",	    "Мария",   "Елена",	   "Ольга",   "Наталья",
				       "Ирина",	    "Татьяна", "Светлана", "Юлия",    "Екатерина",
				       "Александр", "Сергей",  "Дмитрий",  "Андрей",  "Алексей",
				       "Максим",    "Иван",    "Михаил",   "Николай", "Павел"};
static const char *const first_lat[] = {"anna",	     "maria",	"elena",    "olga",    "natalia",
					"irina",     "tatiana", "svetlana", "yulia",   "ekaterina",
					"alexander", "sergey",	"dmitry",   "andrey",  "alexey",
					"maxim",     "ivan",	"mikhail",  "nikolay", "pavel"};
static const char *const last_ru[] = {"Иванов",	 "Смирнов", "Кузнецов", "Попов",    "Васильев",
				      "Петров",	 "Соколов", "Михайлов", "Новиков",  "Фёдоров",
				      "Морозов", "Волков",  "Алексеев", "Лебедев",  "Семёнов",
				      "Егоров",	 "Павлов",  "Козлов",	"Степанов", "Николаев"};
static const char *const last_lat[] = {"ivanov",  "smirnov", "kuznetsov", "popov",    "vasiliev",
				       "petrov",  "sokolov", "mikhailov", "novikov",  "fedorov",
				       "morozov", "volkov",  "alekseev",  "lebedev",  "semenov",
				       "egorov",  "pavlov",  "kozlov",	  "stepanov", "nikolaev"};
static const char *const domains[] = {"Mail.ru", "yandex.ru", "Gmail.com",
				      "bk.ru",	 "inbox.ru",  "example.com"};
static const char *const goods[] = {
    "Капучино",	   "Латте",	      "Американо",    "Круассан", "Чизкейк", "Сэндвич с курицей",
    "Чай зелёный", "Морс клюквенный", "Салат Цезарь", "Суп дня",  "Эклер",   "Раф ванильный"};
#define NGOODS (sizeof(goods) / sizeof(goods[0]))

#define WELCOME_MINOR 10000 /* 100 points, never expire */
#define KEEP_MINOR 1000	    /* the history never spends a client below 10 points */
#define MAX_LOTS 16

struct lot {
	int64_t id, remaining, original, expires; /* expires 0: never */
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL, *keys_path = NULL;
	long long n_clients = 1000000, n_orders = 2000000, n_keys = 20000;
	unsigned long long seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--pg"))
			pg_mode = 1;
		else if (!strcmp(a, "--db") && v)
			path = argv[++i];
		else if (!strcmp(a, "--keys") && v)
			keys_path = argv[++i];
		else if (!strcmp(a, "--clients") && v)
			n_clients = atoll(argv[++i]);
		else if (!strcmp(a, "--orders") && v)
			n_orders = atoll(argv[++i]);
		else if (!strcmp(a, "--key-sample") && v)
			n_keys = atoll(argv[++i]);
		else if (!strcmp(a, "--seed") && v)
			seed = strtoull(argv[++i], NULL, 10);
		else
			die("usage: kopilka-gen (--db PATH | --pg) [--clients N] [--orders M]"
			    " [--keys FILE] [--key-sample K] [--seed S]");
	}
	if ((!pg_mode && !path) || n_clients < 1 || n_clients > 100000000 || n_orders < 0)
		die("need --db PATH (or --pg), 1 <= --clients <= 1e8, --orders >= 0");
	rng_state ^= mix64(seed);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t now = (int64_t)time(NULL) * 1000;

	char **index_sql = NULL, **trigger_sql = NULL;
	size_t n_index = 0, n_trigger = 0;
	if (!pg_mode) {
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
			die("cannot open %s (run kopilkad init first): %s", path,
			    sqlite3_errmsg(db));
		sqlite3_stmt *s;
		sqlite3_prepare_v2(db, "SELECT count(*) FROM clients", -1, &s, NULL);
		if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int64(s, 0) != 0)
			die("%s already holds clients: generate into a fresh `kopilkad init` "
			    "database",
			    path);
		sqlite3_finalize(s);
		exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
		     " PRAGMA cache_size = -2000000; PRAGMA temp_store = MEMORY;"
		     " PRAGMA foreign_keys = OFF;");
		/* Secondary indexes of the loaded tables: drop now, rebuild after the load. */
		sqlite3_prepare_v2(
		    db,
		    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql"
		    " IS NOT NULL AND tbl_name IN ('clients', 'lots', 'ledger',"
		    " 'coupons', 'coupon_instances', 'coupon_codes', 'orders',"
		    " 'order_items')",
		    -1, &s, NULL);
		char **index_name = NULL;
		while (sqlite3_step(s) == SQLITE_ROW) {
			index_sql = realloc(index_sql, (n_index + 1) * sizeof(*index_sql));
			index_name = realloc(index_name, (n_index + 1) * sizeof(*index_name));
			index_name[n_index] = strdup((const char *)sqlite3_column_text(s, 0));
			index_sql[n_index++] = strdup((const char *)sqlite3_column_text(s, 1));
		}
		sqlite3_finalize(s);
		for (size_t x = 0; x < n_index; x++) {
			char drop[256];
			snprintf(drop, sizeof(drop), "DROP INDEX \"%s\"", index_name[x]);
			exec(drop);
			free(index_name[x]);
		}
		free(index_name);
		/* The triggers that keep client_phone_trigrams would write it row by row in random
		 * order: drop them for the load, fill the table in key order after it. The
		 * dashboard's triggers (report_*) stay: they add each row to a few small tables. */
		sqlite3_prepare_v2(db,
				   "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
				   " AND tbl_name = 'clients' AND name LIKE 'clients_trigrams%'",
				   -1, &s, NULL);
		char **trigger_name = NULL;
		while (sqlite3_step(s) == SQLITE_ROW) {
			trigger_sql = realloc(trigger_sql, (n_trigger + 1) * sizeof(*trigger_sql));
			trigger_name =
			    realloc(trigger_name, (n_trigger + 1) * sizeof(*trigger_name));
			trigger_name[n_trigger] = strdup((const char *)sqlite3_column_text(s, 0));
			trigger_sql[n_trigger++] = strdup((const char *)sqlite3_column_text(s, 1));
		}
		sqlite3_finalize(s);
		for (size_t x = 0; x < n_trigger; x++) {
			char drop[256];
			snprintf(drop, sizeof(drop), "DROP TRIGGER \"%s\"", trigger_name[x]);
			exec(drop);
			free(trigger_name[x]);
		}
		free(trigger_name);
		exec("BEGIN");
	}
	out_open();
	FILE *keys = keys_path ? fopen(keys_path, "w") : NULL;
	if (keys_path && !keys)
		die("cannot write %s", keys_path);
	long long key_step = n_clients / n_keys > 1 ? n_clients / n_keys : 1;

	ROW(T_COUPONS, VI(1), VI(1), VS("Бесплатный кофе"), VS("Кофе в подарок"),
	    VS("Любой кофе 0,3 л"), VS("theme_brown"), VI(90), VI(now - 800 * DAY_MS));

	int64_t lot_id = 0, ledger_id = 0, order_id = 0, item_id = 0, coupon_inst = 0;
	long long orders_left = n_orders;
	char token[33], tok2[33], hash[65], phone[16], email[96], email_lc[96], name[96], ext[24];
	char code1[8], code2[8];
	for (long long i = 1; i <= n_clients; i++) {
		/* Orders for this client: spread the remaining ones evenly, 0..4 around the mean.
		 */
		long long left_clients = n_clients - i + 1;
		double mean = (double)orders_left / (double)left_clients;
		int k = (int)(mean * 2.0 * (double)(rnd() % 1000) / 999.0 + 0.5);
		if (k > 7)
			k = 7;
		if (k > orders_left)
			k = (int)orders_left;
		orders_left -= k;

		phone_of(i, phone);
		int f = (int)(rnd() % 20), l = (int)(rnd() % 20), female = f < 10;
		snprintf(name, sizeof(name), "%s %s%s", first_ru[f], last_ru[l], female ? "а" : "");
		int has_email = rnd() % 10 != 0;
		if (has_email) {
			const char *dom = domains[rnd() % (sizeof(domains) / sizeof(domains[0]))];
			snprintf(email, sizeof(email), "%s.%s%s%lld@%s", first_lat[f], last_lat[l],
				 female ? "a" : "", i, dom);
			snprintf(email_lc, sizeof(email_lc), "%s", email);
			for (char *p = email_lc; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
		}
		int64_t created = now - rnd_range(30, 1000) * DAY_MS - rnd_range(0, DAY_MS);
		token32(token, 1, (uint64_t)i);

		/* The client's lots (in memory while its history is written). */
		struct lot lots[MAX_LOTS];
		int n_lots = 0;
		lots[n_lots++] = (struct lot){++lot_id, WELCOME_MINOR, WELCOME_MINOR, 0};
		ROW(T_LEDGER, VI(++ledger_id), VI(1), VI(i), VI(0), VI(WELCOME_MINOR), VI(0), VN,
		    VI(created));
		int64_t balance = WELCOME_MINOR;
		int64_t lot_created[MAX_LOTS], lot_order[MAX_LOTS];
		lot_created[0] = created;
		lot_order[0] = 0;

		int64_t times[8];
		for (int j = 0; j < k; j++)
			times[j] = rnd_range(created, now - 60000);
		qsort(times, (size_t)k, sizeof(times[0]), cmp_i64);
		long long stat_total = 0, stat_paid = 0, stat_amount = 0, stat_paid_amount = 0;
		for (int j = 0; j < k; j++) {
			int64_t t = times[j];
			/* Expire the lots whose time has come before this order. */
			for (int q = 0; q < n_lots; q++)
				if (lots[q].expires && lots[q].expires <= t &&
				    lots[q].remaining > 0) {
					ROW(T_LEDGER, VI(++ledger_id), VI(1), VI(i), VI(0),
					    VI(-lots[q].remaining), VI(4), VN, VI(lots[q].expires));
					balance -= lots[q].remaining;
					lots[q].remaining = 0;
				}
			int64_t oid = ++order_id;
			int n_items = (int)rnd_range(1, 3);
			int64_t total = 0;
			for (int it = 0; it < n_items; it++) {
				int64_t price = rnd_range(9, 60) * 1000; /* 90..600 rubles */
				int64_t qty = rnd() % 4 == 0 ? 2000 : 1000;
				int64_t line = price * qty / 1000;
				total += line;
				ROW(T_ITEMS, VI(++item_id), VI(oid), VI(1), VI(it + 1),
				    VS(goods[rnd() % NGOODS]), VI(price), VI(qty), VS("piece"),
				    VI(line));
			}
			/* Spend: a third of the orders, from the soonest-expiring live lots. */
			int64_t spend = 0;
			if (rnd() % 3 == 0 && balance - KEEP_MINOR > 0) {
				spend = total * 30 / 100;
				if (spend > balance - KEEP_MINOR)
					spend = balance - KEEP_MINOR;
				spend -= spend % 100; /* whole points */
			}
			if (spend > 0) {
				/* Lots by expiry, never-expiring last (index 0 is the welcome lot).
				 */
				int64_t left = spend;
				for (int pass = 0; pass < 2 && left > 0; pass++)
					for (int q = pass ? 0 : 1;
					     q < (pass ? 1 : n_lots) && left > 0; q++) {
						if (lots[q].remaining <= 0)
							continue;
						int64_t take = lots[q].remaining < left
								   ? lots[q].remaining
								   : left;
						lots[q].remaining -= take;
						left -= take;
						ROW(T_LOT_TAKES, VI(oid), VI(lots[q].id), VI(take),
						    VI(0));
					}
				ROW(T_LEDGER, VI(++ledger_id), VI(1), VI(i), VI(0), VI(-spend),
				    VI(1), VI(oid), VI(t));
				balance -= spend;
			}
			int64_t card = total - spend;
			int64_t accrued = card * 5 / 100;
			if (accrued > 0 && n_lots < MAX_LOTS) {
				lot_created[n_lots] = t;
				lot_order[n_lots] = oid;
				lots[n_lots++] =
				    (struct lot){++lot_id, accrued, accrued, t + 365 * DAY_MS};
				ROW(T_LEDGER, VI(++ledger_id), VI(1), VI(i), VI(0), VI(accrued),
				    VI(0), VI(oid), VI(t));
				balance += accrued;
			} else {
				accrued = 0;
			}
			snprintf(ext, sizeof(ext), "H%010lld", (long long)oid);
			token32(tok2, 2, (uint64_t)oid);
			token32(hash, 3, (uint64_t)oid);
			token32(hash + 32, 4, (uint64_t)oid);
			ROW(T_ORDERS, VI(oid), VI(1), VS(ext), VI(0), VI(oid), VI(i), VI(t),
			    VI(total), VI(card), VI(0), VI(0), VI(spend), VI(0), VI(accrued),
			    VS(tok2), VS(hash), VI(1));
			stat_total++;
			stat_amount += total;
			if (card > 0) {
				stat_paid++;
				stat_paid_amount += card;
			}
		}
		/* What the expiry sweep would have written off by now. */
		for (int q = 0; q < n_lots; q++)
			if (lots[q].expires && lots[q].expires <= now && lots[q].remaining > 0) {
				ROW(T_LEDGER, VI(++ledger_id), VI(1), VI(i), VI(0),
				    VI(-lots[q].remaining), VI(4), VN, VI(lots[q].expires));
				balance -= lots[q].remaining;
				lots[q].remaining = 0;
			}
		/* Every lot, with its final remaining (the welcome lot never expires). */
		for (int q = 0; q < n_lots; q++)
			ROW(T_LOTS, VI(lots[q].id), VI(1), VI(i), VI(0), VI(lots[q].remaining),
			    VI(lots[q].original), lots[q].expires ? VI(lots[q].expires) : VN,
			    lot_order[q] ? VI(lot_order[q]) : VN, VI(lot_created[q]));
		ROW(T_BALANCES, VI(i), VI(0), VI(1), VI(balance), VI(0), VI(0));
		ROW(T_CLIENTS, VI(i), VI(1), has_email ? VS(email) : VN,
		    has_email ? VS(email_lc) : VN, VS(phone), VS(name), VS(token), VI(stat_paid),
		    VI(stat_total), VI(stat_amount), VI(stat_paid_amount), VI(created));
		int has_coupon = i % 10 == 0;
		if (has_coupon) {
			int64_t ci = ++coupon_inst;
			/* Two distinct 6-digit codes per instance: a bijection of 2*ci (mod 10^6).
			 */
			snprintf(code1, sizeof(code1), "%06lld",
				 (long long)(((uint64_t)(2 * ci) * 7919ULL + 1) % 1000000ULL));
			snprintf(code2, sizeof(code2), "%06lld",
				 (long long)(((uint64_t)(2 * ci + 1) * 7919ULL + 1) % 1000000ULL));
			token32(token, 5, (uint64_t)ci);
			token32(tok2, 6, (uint64_t)ci);
			int64_t issued = now - rnd_range(1, 60) * DAY_MS;
			ROW(T_INSTANCES, VI(ci), VI(1), VI(i), VI(1), VI(0), VI(issued),
			    VI(issued + 90 * DAY_MS), VS(token), VS(tok2), VS(code1), VS(code2));
			ROW(T_CODES, VI(1), VS(code1), VI(ci));
			ROW(T_CODES, VI(1), VS(code2), VI(ci));
		}
		if (keys && i % key_step == 0)
			fprintf(keys, "%lld %s %s %lld\n", i, phone, has_email ? email : "-",
				has_coupon ? i : 0LL);
		if (i % 50000 == 0 || i == n_clients) {
			struct timespec t1;
			clock_gettime(CLOCK_MONOTONIC, &t1);
			fprintf(stderr,
				"\rkopilka-gen: clients %lld/%lld, orders %lld, rows %lld, %.1f s",
				i, n_clients, (long long)order_id, rows_written,
				(double)(t1.tv_sec - t0.tv_sec) +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		}
		if (coupon_inst > 400000)
			die("more than 400000 coupon instances: the 6-digit codes would run out");
	}
	fprintf(stderr, "\n");
	if (keys)
		fclose(keys);

	if (!pg_mode) {
		char sql[256];
		snprintf(sql, sizeof(sql), "UPDATE merchants SET order_seq = %lld WHERE id = 1",
			 (long long)order_id);
		exec(sql);
		for (int t = 0; t < T__N; t++)
			sqlite3_finalize(ins[t]);
		fprintf(stderr, "kopilka-gen: rebuilding %zu indexes\n", n_index);
		for (size_t x = 0; x < n_index; x++) {
			exec(index_sql[x]);
			free(index_sql[x]);
		}
		free(index_sql);
		if (n_trigger > 0) {
			fprintf(stderr, "kopilka-gen: filling client_phone_trigrams\n");
			fill_phone_trigrams(n_clients);
		}
		for (size_t x = 0; x < n_trigger; x++) {
			exec(trigger_sql[x]);
			free(trigger_sql[x]);
		}
		free(trigger_sql);
		exec("COMMIT");
		exec("PRAGMA journal_mode = WAL");
		sqlite3_close(db);
	} else {
		/* The trigram index (pg_schema.h, migration 9) is built once after the load: GIN
		 * insertion row by row is slow and leaves a pending list to merge. */
		printf(
		    "\\set ON_ERROR_STOP on\nBEGIN;\nDROP INDEX IF EXISTS clients_phone_trgm;\n");
		for (int t = 0; t < T__N; t++) {
			printf("COPY %s(%s) FROM stdin;\n", tbl_name[t], tbl_cols[t]);
			fflush(stdout);
			rewind(pgf[t]);
			char buf[65536];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), pgf[t])) > 0)
				fwrite(buf, 1, n, stdout);
			printf("\\.\n");
			fclose(pgf[t]);
		}
		const char *ids[] = {"clients",		 "lots",   "ledger",	 "coupons",
				     "coupon_instances", "orders", "order_items"};
		for (size_t x = 0; x < sizeof(ids) / sizeof(ids[0]); x++)
			printf("SELECT setval(pg_get_serial_sequence('%s', 'id'),"
			       " (SELECT max(id) FROM %s));\n",
			       ids[x], ids[x]);
		printf(
		    "CREATE INDEX clients_phone_trgm ON clients USING gin (phone gin_trgm_ops);\n");
		printf("UPDATE merchants SET order_seq = %lld WHERE id = 1;\nCOMMIT;\nANALYZE;\n",
		       (long long)order_id);
	}
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "kopilka-gen: %lld clients, %lld orders, %lld rows in %.1f s\n", n_clients,
		(long long)order_id, rows_written,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
