/* SQLite's client search (GET /clients/, store.h client_search) through the engine's own
 * phone trigram table (schema migration 9), and the check of that table: the part of the
 * SQLite engine with no PostgreSQL twin (pg.c searches through pg_trgm). docs/ARCHITECTURE.md,
 * "Client search", tells the plan of each pattern's shape. */
#include "store/sqlite_search.h"
#include "store/columns.h"
#include "store/sql.h"

#include <stdlib.h>

#include "core/util.h"
#include "store/check.h"

/* A connection's search statements, prepared on first use and kept: one per shape of the
 * query ([phone pattern kind + 1][email pattern kind + 1], 0 = none), the same through the
 * trigram table ([email pattern kind + 1]) and the probe of pick_trigram. */
struct sq_search {
	sqlite3_stmt *plain[5][5];
	sqlite3_stmt *trigram[5];
	sqlite3_stmt *probe;
};

#define TRIGRAM_PROBE_SQL                                                                          \
	"SELECT count(*) FROM (SELECT 1 FROM client_phone_trigrams"                                \
	" WHERE merchant_id = ? AND tri = ? LIMIT ?)"

/* *out: the statement kept in *slot, prepared from sql the first time. */
static enum store_rc prepare(sqlite3 *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **out)
{
	if (!*slot) {
		int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK)
			return sqlite_map_rc(db, rc, "client search");
	}
	*out = *slot;
	return STORE_OK;
}

void sq_search_free(struct sq_search *ss)
{
	if (!ss)
		return;
	for (int i = 0; i < 5; i++) {
		for (int j = 0; j < 5; j++)
			sqlite3_finalize(ss->plain[i][j]);
		sqlite3_finalize(ss->trigram[i]);
	}
	sqlite3_finalize(ss->probe);
	free(ss);
}

/* Appends one search condition on column col for a compiled pattern; binds come in order. */
static void search_cond(struct buf *sql, const char *col, const struct pattern *p)
{
	switch (p->kind) {
	case PATTERN_EXACT:
		buf_printf(sql, " AND %s = ?", col);
		break;
	case PATTERN_PREFIX:
		buf_printf(sql, " AND %s >= ? AND %s < ?", col, col);
		break;
	case PATTERN_ALL:
		buf_printf(sql, " AND %s IS NOT NULL", col);
		break;
	case PATTERN_LIKE:
		buf_printf(sql, " AND %s LIKE ? ESCAPE '\\'", col);
		break;
	}
}

static int search_bind(sqlite3_stmt *s, int i, const struct pattern *p)
{
	switch (p->kind) {
	case PATTERN_EXACT:
	case PATTERN_LIKE:
		sqlite3_bind_text(s, i++, p->text, -1, SQLITE_TRANSIENT);
		break;
	case PATTERN_PREFIX:
		sqlite3_bind_text(s, i++, p->text, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, i++, p->upper, -1, SQLITE_TRANSIENT);
		break;
	case PATTERN_ALL:
		break;
	}
	return i;
}

/* A probe counts a trigram's phones up to this many; see pick_trigram. Measured at 1M
 * clients: a probe of 512 cost more than the walk it was to shorten (~0.15 ms). */
#define TRIGRAM_PROBE_CAP 64

/* Chooses the trigram of an infix phone pattern whose index walk will be short: the first
 * one held by fewer than TRIGRAM_PROBE_CAP of the merchant's phones (the walk then reads at
 * most that many entries), else the last one, which is not probed: all the others are
 * common, so matches are likely dense enough for LIMIT to stop the walk early. (Common
 * trigrams are those of a phone's leading digits, its country and operator code, which is
 * also why the last rather than the first.) *empty_out is set when a probed trigram is held
 * by no phone: then nothing matches. *pick_out is the index into tri (n > 0). */
MUST_CHECK static enum store_rc pick_trigram(sqlite3 *db, struct sq_search *ss, int64_t merchant_id,
					     char tri[][4], size_t n, size_t *pick_out,
					     bool *empty_out)
{
	*empty_out = false;
	*pick_out = n - 1;
	for (size_t i = 0; i + 1 < n; i++) {
		sqlite3_stmt *s = NULL;
		enum store_rc rc = prepare(db, &ss->probe, TRIGRAM_PROBE_SQL, &s);
		if (rc != STORE_OK)
			return rc;
		sqlite3_bind_int64(s, 1, merchant_id);
		sqlite3_bind_text(s, 2, tri[i], -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 3, TRIGRAM_PROBE_CAP);
		int src = sqlite3_step(s);
		int64_t count = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		if (src != SQLITE_ROW) /* count(*) always gives a row */
			return sqlite_map_rc(db, src, "client search probe");
		if (count < TRIGRAM_PROBE_CAP) {
			*pick_out = i;
			*empty_out = count == 0;
			break;
		}
	}
	return STORE_OK;
}

/* The GLOB form of a LIKE pattern made of digits and '%' only (what a cleaned phone pattern
 * is): '%' becomes '*'. On such patterns and any value the two match the same strings (no
 * letters to fold, no escapes, no GLOB metacharacters), and GLOB, which need not fold case,
 * costs about half as much per index entry (measured on the trigram walk). False, out
 * unspecified, for any other character: the caller then keeps LIKE's own plan. */
static bool digits_glob(const struct pattern *p, char out[PATTERN_MAX + 1])
{
	size_t n = 0;
	for (const char *s = p->text; *s; s++) {
		if (n == PATTERN_MAX || !((*s >= '0' && *s <= '9') || *s == '%'))
			return false;
		out[n++] = *s == '%' ? '*' : *s;
	}
	out[n] = '\0';
	return true;
}

/* The statement of a search whose phone pattern goes through client_phone_trigrams: walk
 * the chosen trigram's entries in (phone, id) order, the pattern (as GLOB, see digits_glob)
 * deciding on each entry's phone (equal to the client's: the triggers keep it so), and fetch
 * the clients of those that match until LIMIT; the order is the index's, no sort. The
 * pattern is bound as (? || ''), not as a bare ?: SQLite 3.40 marks a statement whose LIKE or
 * GLOB pattern is a bare parameter to be prepared again whenever that parameter is bound (for
 * its prefix optimisation, of no use here), which measured ~25% of this query's time. */
static enum store_rc prepare_trigram_search(sqlite3 *db, struct sq_search *ss,
					    const struct client_query *qr, int ek,
					    sqlite3_stmt **out)
{
	if (ss->trigram[ek]) {
		*out = ss->trigram[ek];
		return STORE_OK;
	}
	struct buf sql;
	buf_init(&sql);
	buf_puts(&sql, "SELECT " CLIENT_COLS " FROM (SELECT client_id AS t_id, phone AS t_phone"
		       " FROM client_phone_trigrams WHERE merchant_id = ? AND tri = ?"
		       " AND phone GLOB (? || '')) CROSS JOIN clients ON id = t_id"
		       " WHERE merchant_id = ?");
	if (qr->email)
		search_cond(&sql, "email_lc", qr->email);
	buf_puts(&sql, " ORDER BY t_phone, t_id LIMIT ? OFFSET ?");
	enum store_rc rc = prepare(db, &ss->trigram[ek], sql.data, out);
	buf_free(&sql);
	return rc;
}

enum store_rc sq_search_run(sqlite3 *db, struct sq_search **cache, struct store_conn *base,
			    int64_t merchant_id, const struct client_query *qr, client_row_fn row,
			    void *ctx)
{
	if (!*cache)
		*cache = xcalloc(1, sizeof(**cache));
	struct sq_search *ss = *cache;
	/* One statement per shape of the query (which patterns, of which kind), prepared once
	 * per connection. The order follows API.md 2.1 and is served by an index: an infix
	 * phone pattern with a literal run of 3 or more digits by the trigram index, every other
	 * shape by clients_phone / clients_email (a prefix as a range; a pattern without such a
	 * run, %12% or %1%2%, is dense, so the walk in phone order meets LIMIT matches soon). */
	int pk = qr->phone ? (int)qr->phone->kind + 1 : 0;
	int ek = qr->email ? (int)qr->email->kind + 1 : 0;
	char tri[PATTERN_TRIGRAMS_MAX][4], glob[PATTERN_MAX + 1];
	size_t n_tri = qr->phone ? pattern_trigrams(qr->phone, tri, PATTERN_TRIGRAMS_MAX) : 0;
	if (n_tri > 0 && !digits_glob(qr->phone, glob))
		n_tri = 0;
	sqlite3_stmt *s = NULL;
	enum store_rc rc = STORE_OK;
	int i = 1;
	if (n_tri > 0) {
		bool empty;
		size_t t;
		rc = pick_trigram(db, ss, merchant_id, tri, n_tri, &t, &empty);
		if (rc != STORE_OK)
			return rc;
		if (empty)
			return STORE_OK;
		rc = prepare_trigram_search(db, ss, qr, ek, &s);
		if (rc != STORE_OK)
			return rc;
		sqlite3_bind_int64(s, i++, merchant_id);
		sqlite3_bind_text(s, i++, tri[t], -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, i++, glob, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, i++, merchant_id);
	} else {
		s = ss->plain[pk][ek];
		if (!s) {
			struct buf sql;
			buf_init(&sql);
			buf_puts(&sql, "SELECT " CLIENT_COLS " FROM clients WHERE merchant_id = ?");
			if (qr->phone)
				search_cond(&sql, "phone", qr->phone);
			if (qr->email)
				search_cond(&sql, "email_lc", qr->email);
			buf_puts(&sql, qr->phone   ? " ORDER BY phone, id"
				       : qr->email ? " ORDER BY email_lc, id"
						   : " ORDER BY id");
			buf_puts(&sql, " LIMIT ? OFFSET ?");
			rc = prepare(db, &ss->plain[pk][ek], sql.data, &s);
			buf_free(&sql);
			if (rc != STORE_OK)
				return rc;
		}
		sqlite3_bind_int64(s, i++, merchant_id);
		if (qr->phone)
			i = search_bind(s, i, qr->phone);
	}
	if (qr->email)
		i = search_bind(s, i, qr->email);
	sqlite3_bind_int64(s, i++, qr->limit);
	sqlite3_bind_int64(s, i++, qr->offset);
	int src;
	struct sql_res res = {.conn = base, .handle = s};
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		struct client cl = {0};
		sql_read_client(&res, &cl);
		bool more = row(ctx, &cl);
		client_clear(&cl);
		if (!more)
			break;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sqlite_map_rc(db, src, "client search");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

/* The invariants of client_phone_trigrams; each query returns one row per violation as a single
 * text column describing it. */
/* clang-format off */
static const char *const check_queries[] = {
    /* client_phone_trigrams holds exactly the distinct trigrams of every client's phone (the
     * infix search trusts it to find every match). Compared as a count and a checksum of
     * (merchant, client, trigram, phone) over both sides, two scans without lookups (about
     * 15 s at 1M clients, where row-by-row lookups took 30 s); each row's trigram must also
     * occur in its phone. A position counts on the clients side only where its trigram
     * first occurs in the phone, as the table keeps one row per distinct trigram. */
    "SELECT printf('phone search index: %d rows (checksum %d) where the phones of clients give"
    " %d (checksum %d)', t.n, t.h, c.n, c.h) FROM"
    " (SELECT count(*) AS n, coalesce(sum(((client_id % 1000003) * 1000"
    "  + cast(tri AS INTEGER)) % 1000000007 * ((cast(phone AS INTEGER) + merchant_id)"
    "  % 1000003 + 1) % 1000000007), 0) AS h FROM client_phone_trigrams) t,"
    " (SELECT count(*) AS n, coalesce(sum(((c.id % 1000003) * 1000"
    "  + cast(substr(c.phone, p.n, 3) AS INTEGER)) % 1000000007"
    "  * ((cast(c.phone AS INTEGER) + c.merchant_id) % 1000003 + 1) % 1000000007), 0) AS h"
    "  FROM clients c INDEXED BY clients_phone JOIN trigram_positions p"
    "  ON p.n <= length(c.phone) - 2 WHERE c.phone IS NOT NULL"
    "  AND instr(c.phone, substr(c.phone, p.n, 3)) = p.n) c"
    " WHERE t.n <> c.n OR t.h <> c.h",
    "SELECT printf('phone search index: trigram %s is not in phone %s of client %d', tri,"
    " phone, client_id) FROM client_phone_trigrams WHERE instr(phone, tri) = 0",
};
/* clang-format on */

enum store_rc sq_search_check(sqlite3 *db, store_report_fn report, void *ctx, int64_t *problems)
{
	for (size_t i = 0; i < ARRAY_LEN(check_queries); i++) {
		sqlite3_stmt *s = NULL;
		int rc = sqlite3_prepare_v2(db, check_queries[i], -1, &s, NULL);
		if (rc != SQLITE_OK)
			return sqlite_map_rc(db, rc, "check");
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			(*problems)++;
			report(ctx, (const char *)sqlite3_column_text(s, 0));
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return sqlite_map_rc(db, rc, "check");
	}
	return STORE_OK;
}
