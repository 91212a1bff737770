/* Customer imports (see imports.h). */
#include "service/imports.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "service/events.h"
#include "service/ledger.h"
#include "store/clients.h"
#include "store/imports.h"
#include "store/merchant.h"

enum column { COL_PHONE, COL_EMAIL, COL_NAME, COL_POINTS, COL_EXPIRES, COL_COUNT };
static const char *const column_field[COL_COUNT] = {"phone", "email", "name", "points", "expires"};

/* The header names each column answers to, lower-case (English, then Russian). */
static const char *const column_names[COL_COUNT][10] = {
    {"phone", "phone number", "mobile", "tel", "телефон", "тел", "тел.", "мобильный",
     "номер телефона", NULL},
    {"email", "e-mail", "mail", "почта", "эл. почта", "электронная почта", "емейл", NULL},
    {"name", "full name", "customer", "имя", "фио", "клиент", "покупатель", NULL},
    {"points", "balance", "bonus", "bonuses", "баллы", "бонусы", "баланс", "сумма баллов", NULL},
    {"expires", "expiry", "expires at", "valid until", "срок", "срок действия", "сгорают",
     "действуют до", NULL},
};

void import_file_clear(struct import_file *f)
{
	for (size_t i = 0; i < f->n_rows; i++) {
		free(f->rows[i].name);
		free(f->rows[i].email);
	}
	free(f->rows);
	free(f->problems);
	for (int i = 0; i < COL_COUNT; i++)
		free(f->columns[i]);
	memset(f, 0, sizeof(*f));
}

/* s trimmed of ASCII spaces and no-break spaces (U+00A0) at both ends, in place. */
static char *trim(char *s)
{
	for (;;) {
		if (*s == ' ' || *s == '\t')
			s++;
		else if ((unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
			s += 2;
		else
			break;
	}
	size_t n = strlen(s);
	for (;;) {
		if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		else if (n > 1 && (unsigned char)s[n - 2] == 0xC2 &&
			 (unsigned char)s[n - 1] == 0xA0)
			n -= 2;
		else
			break;
	}
	s[n] = '\0';
	return s;
}

/* Lower-cases ASCII and the Russian alphabet (UTF-8) in place. */
static void lower_ru(char *s)
{
	unsigned char *u = (unsigned char *)s;
	for (; *u; u++) {
		if (*u >= 'A' && *u <= 'Z') {
			*u = (unsigned char)(*u + 32);
		} else if (u[0] == 0xD0 && u[1] >= 0x90 && u[1] <= 0x9F) { /* А..П */
			u[1] = (unsigned char)(u[1] + 0x20);
			u++;
		} else if (u[0] == 0xD0 && u[1] >= 0xA0 && u[1] <= 0xAF) { /* Р..Я */
			u[0] = 0xD1;
			u[1] = (unsigned char)(u[1] - 0x20);
			u++;
		} else if (u[0] == 0xD0 && u[1] == 0x81) { /* Ё */
			u[0] = 0xD1;
			u[1] = 0x91;
			u++;
		}
	}
}

static int column_of(const char *header)
{
	char name[128];
	snprintf(name, sizeof(name), "%s", header);
	char *t = trim(name);
	lower_ru(t);
	for (int c = 0; c < COL_COUNT; c++)
		for (int k = 0; column_names[c][k]; k++)
			if (strcmp(t, column_names[c][k]) == 0)
				return c;
	return -1;
}

static void problem(struct import_file *f, int64_t line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct import_file *f, int64_t line, const char *field, const char *fmt, ...)
{
	if (f->n_problems == f->problems_cap) {
		f->problems_cap = f->problems_cap ? f->problems_cap * 2 : 64;
		f->problems = xrealloc(f->problems, f->problems_cap * sizeof(*f->problems));
	}
	struct import_problem *p = &f->problems[f->n_problems];
	p->seq = f->n_problems++;
	p->line = line;
	p->field = field;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(p->message)) { /* cut: never inside a UTF-8 sequence */
		unsigned char *m = (unsigned char *)p->message;
		size_t end = sizeof(p->message) - 1, lead = end;
		while (lead > 0 && (m[lead - 1] & 0xC0) == 0x80)
			lead--;
		if (lead > 0) { /* m[lead - 1] begins the last sequence: is it whole? */
			unsigned char b = m[lead - 1];
			size_t want = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
			if (end - (lead - 1) < want)
				m[lead - 1] = '\0';
		}
	}
}

/* At most 40 bytes of a value for a message, never cutting a UTF-8 sequence. */
#define SNIP_MAX 40
static const char *snip(const char *s, char out[SNIP_MAX + 4])
{
	size_t n = strlen(s);
	if (n <= SNIP_MAX)
		return s;
	n = SNIP_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

/* A set of strings (phones, lower-cased emails) with the line each was first seen on: open
 * addressing, keys owned. */
struct seen {
	char **keys;
	int64_t *lines;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* The line key was seen on before (then nothing changes), or 0 after recording line. */
static int64_t seen_add(struct seen *s, const char *key, int64_t line)
{
	if ((s->n + 1) * 2 > s->cap) {
		struct seen grown = {.cap = s->cap ? s->cap * 2 : 1024};
		grown.keys = xcalloc(grown.cap, sizeof(*grown.keys));
		grown.lines = xcalloc(grown.cap, sizeof(*grown.lines));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->keys[i])
				continue;
			size_t j = hash_str(s->keys[i]) & (grown.cap - 1);
			while (grown.keys[j])
				j = (j + 1) & (grown.cap - 1);
			grown.keys[j] = s->keys[i];
			grown.lines[j] = s->lines[i];
		}
		grown.n = s->n;
		free(s->keys);
		free(s->lines);
		*s = grown;
	}
	size_t j = hash_str(key) & (s->cap - 1);
	while (s->keys[j]) {
		if (strcmp(s->keys[j], key) == 0)
			return s->lines[j];
		j = (j + 1) & (s->cap - 1);
	}
	s->keys[j] = xstrdup(key);
	s->lines[j] = line;
	s->n++;
	return 0;
}

/* What key was recorded with (0: not there). */
static int64_t seen_get(const struct seen *s, const char *key)
{
	if (s->cap == 0)
		return 0;
	size_t j = hash_str(key) & (s->cap - 1);
	while (s->keys[j]) {
		if (strcmp(s->keys[j], key) == 0)
			return s->lines[j];
		j = (j + 1) & (s->cap - 1);
	}
	return 0;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->lines);
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* YYYY-MM-DD or DD.MM.YYYY: the end of that day (UTC), as the instant the points expire. */
static bool parse_date(const char *s, int64_t *out_ms)
{
	int64_t y, m, d;
	if (strlen(s) != 10)
		return false;
	if (s[4] == '-' && s[7] == '-' && all_digits(s, 4) && all_digits(s + 5, 2) &&
	    all_digits(s + 8, 2)) {
		y = atoi(s);
		m = atoi(s + 5);
		d = atoi(s + 8);
	} else if (s[2] == '.' && s[5] == '.' && all_digits(s, 2) && all_digits(s + 3, 2) &&
		   all_digits(s + 6, 4)) {
		d = atoi(s);
		m = atoi(s + 3);
		y = atoi(s + 6);
	} else {
		return false;
	}
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return false;
	*out_ms = (days_from_civil(y, m, d) + 1) * MS_PER_DAY;
	return true;
}

/* Points as people write them: "1 234,50", "1234.5", "" (0). Spaces and no-break spaces
 * between digits are dropped and a decimal comma read as a point. */
static enum fixed_rc parse_points(const char *s, int digits, money_t *out)
{
	char clean[64];
	size_t n = 0;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if (*u == ' ')
			continue;
		if (u[0] == 0xC2 && u[1] == 0xA0) {
			u++;
			continue;
		}
		if (n + 1 >= sizeof(clean))
			return FIXED_ERR_RANGE;
		clean[n++] = *u == ',' ? '.' : (char)*u;
	}
	clean[n] = '\0';
	if (n == 0) {
		*out = 0;
		return FIXED_OK;
	}
	return fixed_parse(clean, digits, MONEY_MAX_MINOR, out);
}

/* Checks one data row's fields into row, recording its problems. */
static void parse_row(struct import_file *f, const int col_index[COL_COUNT], char **fields,
		      size_t n_fields, int64_t line, int digits, int64_t now, struct seen *phones,
		      struct seen *emails, struct import_row *row)
{
	size_t before = f->n_problems;
	char sn[SNIP_MAX + 4];
	char *v[COL_COUNT];
	for (int c = 0; c < COL_COUNT; c++)
		v[c] = col_index[c] >= 0 && (size_t)col_index[c] < n_fields
			   ? trim(fields[col_index[c]])
			   : "";
	*row = (struct import_row){.line = line};
	if (*v[COL_PHONE]) {
		bool ok = phone_normalize(v[COL_PHONE], row->phone);
		for (const char *p = v[COL_PHONE]; ok && *p; p++)
			ok = strchr("0123456789+-() .", *p) != NULL;
		if (!ok || strlen(row->phone) < 10) {
			problem(f, line, "phone",
				"\"%s\" is not a phone number (10 to 15 digits, with +, spaces, "
				"dashes or brackets)",
				snip(v[COL_PHONE], sn));
			row->phone[0] = '\0';
		}
	}
	if (*v[COL_EMAIL]) {
		char email[EMAIL_MAX + 1];
		if (email_normalize(v[COL_EMAIL], email))
			row->email = xstrdup(email);
		else
			problem(f, line, "email", "\"%s\" is not an email address",
				snip(v[COL_EMAIL], sn));
	}
	if (!*v[COL_PHONE] && !*v[COL_EMAIL])
		problem(f, line, "phone", "a customer needs a phone or an email");
	if (*v[COL_NAME]) {
		if (text_utf8_length(v[COL_NAME]) > IMPORT_NAME_MAX)
			problem(f, line, "name", "longer than %d characters", IMPORT_NAME_MAX);
		else
			row->name = xstrdup(v[COL_NAME]);
	}
	switch (parse_points(v[COL_POINTS], digits, &row->points_minor)) {
	case FIXED_OK:
		if (row->points_minor < 0)
			problem(f, line, "points",
				"\"%s\" is negative (an opening balance is 0 "
				"or more)",
				snip(v[COL_POINTS], sn));
		break;
	case FIXED_ERR_PRECISION:
		problem(f, line, "points", "\"%s\" has more than %d decimal places",
			snip(v[COL_POINTS], sn), digits);
		break;
	case FIXED_ERR_RANGE:
		problem(f, line, "points", "\"%s\" is too large", snip(v[COL_POINTS], sn));
		break;
	case FIXED_ERR_SYNTAX:
		problem(f, line, "points", "\"%s\" is not a number", snip(v[COL_POINTS], sn));
		break;
	}
	if (*v[COL_EXPIRES]) {
		if (!parse_date(v[COL_EXPIRES], &row->expires_ms))
			problem(f, line, "expires",
				"\"%s\" is not a date (YYYY-MM-DD or DD.MM.YYYY)",
				snip(v[COL_EXPIRES], sn));
		else if (row->expires_ms <= now)
			problem(f, line, "expires", "%s is in the past", snip(v[COL_EXPIRES], sn));
	}
	if (row->phone[0]) {
		int64_t first = seen_add(phones, row->phone, line);
		if (first)
			problem(f, line, "phone", "phone %s is also on line %lld", row->phone,
				(long long)first);
	}
	if (row->email) {
		char lc[EMAIL_MAX + 1];
		snprintf(lc, sizeof(lc), "%s", row->email);
		text_ascii_lower(lc);
		int64_t first = seen_add(emails, lc, line);
		if (first)
			problem(f, line, "email", "email %s is also on line %lld", row->email,
				(long long)first);
	}
	row->valid = f->n_problems == before;
}

bool import_file_parse(const char *text, size_t len, int digits, int64_t now, struct import_file *f,
		       char *err, size_t err_cap)
{
	struct csv_reader rd;
	struct seen phones = {0}, emails = {0};
	bool ok = false;
	int col_index[COL_COUNT];
	for (int c = 0; c < COL_COUNT; c++)
		col_index[c] = -1;
	f->separator = csv_detect_separator(text, len);
	csv_reader_init(&rd, text, len, f->separator);
	int64_t line = 0;
	int got = csv_next(&rd, &line, err, err_cap);
	if (got <= 0) {
		if (got == 0)
			snprintf(err, err_cap, "the file has no header line");
		goto cleanup;
	}
	for (size_t i = 0; i < rd.n_fields; i++) {
		int c = column_of(rd.fields[i]);
		if (c < 0)
			continue;
		if (col_index[c] >= 0) {
			snprintf(err, err_cap,
				 "line 1: two columns name the %s (columns %d and %zu)",
				 column_field[c], col_index[c] + 1, i + 1);
			goto cleanup;
		}
		col_index[c] = (int)i;
		f->columns[c] = xstrdup(rd.fields[i]);
	}
	if (col_index[COL_PHONE] < 0 && col_index[COL_EMAIL] < 0) {
		snprintf(err, err_cap,
			 "line 1: the header names no phone or email column (expected a header "
			 "line such as phone;email;name;points;expires or "
			 "телефон;почта;имя;баллы;срок, separated by ';', ',' or tab)");
		goto cleanup;
	}
	while ((got = csv_next(&rd, &line, err, err_cap)) == 1) {
		bool blank = true;
		for (size_t i = 0; i < rd.n_fields && blank; i++)
			blank = *trim(rd.fields[i]) == '\0';
		if (blank)
			continue;
		if (f->n_rows == IMPORT_ROWS_MAX) {
			snprintf(
			    err, err_cap,
			    "line %lld: the file has more than %d customer rows; split it into "
			    "files of at most %d",
			    (long long)line, IMPORT_ROWS_MAX, IMPORT_ROWS_MAX);
			goto cleanup;
		}
		if (f->n_rows == f->rows_cap) {
			f->rows_cap = f->rows_cap ? f->rows_cap * 2 : 256;
			f->rows = xrealloc(f->rows, f->rows_cap * sizeof(*f->rows));
		}
		struct import_row *row = &f->rows[f->n_rows++];
		parse_row(f, col_index, rd.fields, rd.n_fields, line, digits, now, &phones, &emails,
			  row);
		f->n_valid += row->valid;
	}
	if (got < 0)
		goto cleanup;
	if (f->n_rows == 0) {
		snprintf(err, err_cap, "the file has a header but no customer rows");
		goto cleanup;
	}
	ok = true;
cleanup:
	csv_reader_free(&rd);
	seen_free(&phones);
	seen_free(&emails);
	return ok;
}

static int problem_cmp(const void *a, const void *b)
{
	const struct import_problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The merchant's clients read whole into sets (phone and lower-cased email -> id), when they
 * are few: a merchant moving from another system has none or a few, and one walk of them costs
 * a few queries where a look-up per row cost two round trips per row (18 s for 100,000 rows on
 * PostgreSQL). */
struct known_clients {
	struct seen phones, emails;
	int64_t after_id, n, limit;
	bool complete;
};

static bool known_client_row(void *ctx, const struct client *cl, money_t balance_minor)
{
	struct known_clients *k = ctx;
	(void)balance_minor;
	if (cl->phone)
		(void)seen_add(&k->phones, cl->phone, cl->id);
	if (cl->email) {
		char lc[EMAIL_MAX + 1];
		snprintf(lc, sizeof(lc), "%s", cl->email);
		text_ascii_lower(lc);
		(void)seen_add(&k->emails, lc, cl->id);
	}
	k->after_id = cl->id;
	k->n++;
	return true;
}

#define KNOWN_PAGE 1000

/* Reads the merchant's clients into k while there are at most k->limit of them: k->complete
 * tells whether all were read. */
static enum store_rc known_clients_read(struct store_conn *db, int64_t merchant_id,
					struct known_clients *k)
{
	for (;;) {
		int64_t before = k->n;
		enum store_rc rc = STORE(db, clients_export, merchant_id, CUR_POINTS, k->after_id,
					 KNOWN_PAGE, known_client_row, k);
		if (rc != STORE_OK)
			return rc;
		if (k->n - before < KNOWN_PAGE) {
			k->complete = true;
			return STORE_OK;
		}
		if (k->n >= k->limit)
			return STORE_OK;
	}
}

/* The id of the merchant's client with this phone (kind 0) or lower-cased email (1), or 0. */
static enum store_rc known_client(struct store_conn *db, int64_t merchant_id,
				  const struct known_clients *k, int kind, const char *key,
				  int64_t *id_out)
{
	*id_out = 0;
	if (k->complete) {
		*id_out = seen_get(kind ? &k->emails : &k->phones, key);
		return STORE_OK;
	}
	struct client cl = {0};
	enum store_rc rc = kind ? STORE(db, client_find_email, merchant_id, key, &cl)
				: STORE(db, client_find_phone, merchant_id, key, &cl);
	*id_out = cl.id;
	client_clear(&cl);
	return rc == STORE_NOT_FOUND ? STORE_OK : rc;
}

enum store_rc import_file_check_clients(struct store_conn *db, int64_t merchant_id,
					struct import_file *f)
{
	struct known_clients k = {.limit = 2 * (int64_t)f->n_rows + KNOWN_PAGE};
	enum store_rc rc = known_clients_read(db, merchant_id, &k);
	for (size_t i = 0; i < f->n_rows && rc == STORE_OK; i++) {
		struct import_row *row = &f->rows[i];
		if (!row->valid)
			continue;
		int64_t id = 0;
		if (row->phone[0]) {
			rc = known_client(db, merchant_id, &k, 0, row->phone, &id);
			if (rc == STORE_OK && id)
				problem(f, row->line, "phone",
					"a client with phone %s exists (id %lld)", row->phone,
					(long long)id);
		}
		if (rc == STORE_OK && !id && row->email) {
			char lc[EMAIL_MAX + 1];
			snprintf(lc, sizeof(lc), "%s", row->email);
			text_ascii_lower(lc);
			rc = known_client(db, merchant_id, &k, 1, lc, &id);
			if (rc == STORE_OK && id)
				problem(f, row->line, "email",
					"a client with email %s exists (id %lld)", row->email,
					(long long)id);
		}
		if (rc == STORE_OK && id) {
			row->valid = false;
			f->n_valid--;
		}
	}
	seen_free(&k.phones);
	seen_free(&k.emails);
	/* The clashes were found after the rows' own problems: back in line order. */
	if (f->n_problems > 1) /* no problems: problems may be NULL, which qsort may not take */
		qsort(f->problems, f->n_problems, sizeof(*f->problems), problem_cmp);
	return rc;
}

/* ---- progress of the applies running in this process ---- */

#define PROGRESS_SLOTS 64
static struct {
	int64_t import_id, done, total;
} progress[PROGRESS_SLOTS];
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;

static void progress_set(int64_t import_id, int64_t done, int64_t total)
{
	pthread_mutex_lock(&progress_mu);
	int free_slot = -1;
	for (int i = 0; i < PROGRESS_SLOTS; i++) {
		if (progress[i].import_id == import_id) {
			free_slot = i;
			break;
		}
		if (free_slot < 0 && progress[i].import_id == 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		progress[free_slot].import_id = import_id;
		progress[free_slot].done = done;
		progress[free_slot].total = total;
	}
	pthread_mutex_unlock(&progress_mu);
}

bool import_progress(int64_t import_id, int64_t *done, int64_t *total)
{
	bool found = false;
	pthread_mutex_lock(&progress_mu);
	for (int i = 0; i < PROGRESS_SLOTS && !found; i++) {
		if (progress[i].import_id == import_id) {
			*done = progress[i].done;
			*total = progress[i].total;
			found = true;
		}
	}
	pthread_mutex_unlock(&progress_mu);
	return found;
}

void import_progress_end(int64_t import_id)
{
	pthread_mutex_lock(&progress_mu);
	for (int i = 0; i < PROGRESS_SLOTS; i++)
		if (progress[i].import_id == import_id)
			progress[i].import_id = 0;
	pthread_mutex_unlock(&progress_mu);
}

/* How often an apply publishes its progress, in rows. */
#define PROGRESS_EVERY 500

bool import_apply(struct store_conn *db, const struct import_rec *im, bool skip_problems,
		  int64_t now, struct import_applied *res, struct outcome *o)
{
	struct loyalty_settings s;
	struct import_file f = {0};
	char err[256];
	bool ok = false;
	*res = (struct import_applied){0};
	if (!outcome_store(o, STORE(db, settings_get, im->merchant_id, &s)))
		return false;
	res->currency = s.currency;
	if (!import_file_parse(im->csv, strlen(im->csv), MONEY_DIGITS, now, &f, err, sizeof(err))) {
		/* It was read at the preview: only a change of the rules can get here. */
		return outcome_refuse(o, OUTCOME_CONFLICT, "import_invalid", "file: %s", err);
	}
	if (!outcome_store(o, import_file_check_clients(db, im->merchant_id, &f)))
		goto cleanup;
	if (f.n_problems > 0 && !skip_problems) {
		outcome_refuse(o, OUTCOME_CONFLICT, "import_has_problems",
			       "file: %zu row problem(s) remain (see the preview); fix the file "
			       "or apply with skipProblems true to leave those rows out",
			       f.n_problems);
		goto cleanup;
	}
	char reason[48];
	snprintf(reason, sizeof(reason), "import %lld", (long long)im->id);
	int64_t total = (int64_t)f.n_valid, done = 0;
	progress_set(im->id, 0, total);
	for (size_t i = 0; i < f.n_rows; i++) {
		const struct import_row *row = &f.rows[i];
		if (!row->valid) {
			res->skipped++;
			continue;
		}
		struct client cl = {.merchant_id = im->merchant_id,
				    .phone = row->phone[0] ? (char *)row->phone : NULL,
				    .email = row->email,
				    .name = row->name,
				    .created_ms = now};
		random_hex(cl.token, 16);
		int64_t client_id = 0;
		enum store_rc rc = STORE(db, client_create, &cl, &client_id);
		if (rc == STORE_CONFLICT) {
			/* Checked above in this transaction: only a concurrent write can do this.
			 */
			rc = STORE_RETRY;
		}
		if (rc == STORE_OK && row->points_minor > 0)
			rc = ledger_opening(db, im->merchant_id, client_id, s.currency,
					    row->points_minor, reason, row->expires_ms, now);
		cl.id = client_id;
		if (rc == STORE_OK)
			rc = event_client(db, EVENT_CLIENT_CREATED, &cl, now);
		if (rc == STORE_OK && row->points_minor > 0)
			rc = event_balance(db, im->merchant_id, client_id, now);
		if (!outcome_store(o, rc))
			goto cleanup;
		res->created++;
		res->points_minor += row->points_minor;
		if (++done % PROGRESS_EVERY == 0)
			progress_set(im->id, done, total);
	}
	progress_set(im->id, done, total);
	ok = true;
cleanup:
	import_file_clear(&f);
	return ok;
}
