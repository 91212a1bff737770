/* Customer imports (API.md 2.6: a CSV file previewed, then applied once) and the CSV exports
 * of customers and orders (2.7), streamed page by page so that a million rows are never held
 * in memory. The rules are service/imports.c's; this file reads the request and renders. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "domain/multipart.h"
#include "handlers/handlers.h"
#include "service/imports.h"
#include "store/clients.h"
#include "store/imports.h"
#include "store/merchant.h"
#include "store/orders.h"

/* Problems listed in a preview (problemCount counts them all), and sample rows shown. */
#define PREVIEW_PROBLEMS_MAX 1000
#define PREVIEW_SAMPLE_ROWS 20

static const char *const status_names[] = {"preview", "applied"};

/* The media type of ct without parameters, compared case-insensitively with want. */
static bool media_type_is(const char *ct, const char *want)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen(want);
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The uploaded file: the body itself (text/csv and the other types a browser gives a .csv), or
 * the part named "file" of a multipart/form-data body. false after writing the error. */
static bool import_body(struct call *c, const char **data, size_t *len)
{
	const struct request *req = c->req;
	if (req->body_too_large) {
		call_error(c, 413, "payload_too_large",
			   "file: the request body exceeds %d bytes; a file may be at most %d "
			   "bytes (20 MiB)",
			   API_IMPORT_BODY_MAX, API_IMPORT_FILE_MAX);
		return false;
	}
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	enum multipart_ct mct = multipart_content_type(req->content_type, boundary);
	if (mct == MULTIPART_CT_BAD_BOUNDARY) {
		call_error(
		    c, 400, "validation_failed",
		    "file: the multipart/form-data Content-Type needs one boundary parameter "
		    "of 1 to 70 characters");
		return false;
	}
	if (mct == MULTIPART_CT_OK) {
		struct multipart_part part;
		int n_found = 0;
		const char *why = NULL;
		if (!multipart_find(req->body ? req->body : "", req->body_len, boundary, "file",
				    &part, &n_found, &why)) {
			call_error(c, 400, "validation_failed",
				   "file: malformed multipart/form-data body: %s", why);
			return false;
		}
		if (n_found != 1) {
			call_error(c, 400, "validation_failed",
				   "file: %s (one multipart/form-data part named file holding the "
				   "CSV)",
				   n_found == 0 ? "is required" : "must be given once");
			return false;
		}
		if (part.len > API_IMPORT_FILE_MAX) {
			call_error(
			    c, 413, "payload_too_large",
			    "file: the file is %zu bytes; it may be at most %d bytes (20 MiB)",
			    part.len, API_IMPORT_FILE_MAX);
			return false;
		}
		*data = part.data;
		*len = part.len;
		return true;
	}
	static const char *const raw_types[] = {"text/csv",
						"text/plain",
						"application/csv",
						"application/vnd.ms-excel",
						"application/octet-stream",
						"text/tab-separated-values"};
	bool raw = false;
	for (size_t i = 0; i < ARRAY_LEN(raw_types) && !raw; i++)
		raw = media_type_is(req->content_type, raw_types[i]);
	if (!raw) {
		call_error(c, 415, "unsupported_media_type",
			   "Content-Type must be text/csv (the file as the body) or "
			   "multipart/form-data (the file in a part named file)");
		return false;
	}
	*data = req->body ? req->body : "";
	*len = req->body_len;
	return true;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(digest, data, len);
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

static void write_date(struct jw *w, const char *key, int64_t expires_ms)
{
	if (!expires_ms) {
		jw_knull(w, key);
		return;
	}
	/* the day the points are good through: the instant they expire is its end */
	char text[UTC_TEXT_BYTES];
	utc_format_ms(expires_ms - 1, text);
	text[10] = '\0';
	jw_kstr(w, key, text);
}

static void write_problems(struct jw *w, const struct import_file *f)
{
	jw_kint(w, "problemCount", (int64_t)f->n_problems);
	jw_key(w, "problems");
	jw_arr_begin(w);
	for (size_t i = 0; i < f->n_problems && i < PREVIEW_PROBLEMS_MAX; i++) {
		jw_obj_begin(w);
		jw_kint(w, "line", f->problems[i].line);
		jw_kstr(w, "field", f->problems[i].field);
		jw_kstr(w, "message", f->problems[i].message);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* The preview of a file not yet applied. */
static void write_preview(struct jw *w, const struct import_rec *im, const struct import_file *f,
			  enum currency cur)
{
	static const char *const col_keys[] = {"phone", "email", "name", "points", "expires"};
	jw_obj_begin(w);
	jw_kint(w, "importId", im->id);
	jw_kstr(w, "sha256", im->sha256);
	jw_kstr(w, "status", "preview");
	jw_kstr(w, "encoding", csv_encoding_name(f->encoding));
	char sep[2] = {f->separator, '\0'};
	jw_kstr(w, "separator", sep);
	jw_key(w, "columns");
	jw_obj_begin(w);
	for (size_t i = 0; i < ARRAY_LEN(col_keys); i++)
		jw_kstr(w, col_keys[i], f->columns[i]);
	jw_obj_end(w);
	jw_kint(w, "rows", (int64_t)f->n_rows);
	jw_kint(w, "valid", (int64_t)f->n_valid);
	money_t points = 0;
	for (size_t i = 0; i < f->n_rows; i++)
		if (f->rows[i].valid)
			points += f->rows[i].points_minor;
	jw_kmoney(w, "points", points);
	jw_kstr(w, "currency", currency_name(cur));
	write_problems(w, f);
	jw_key(w, "sample");
	jw_arr_begin(w);
	for (size_t i = 0; i < f->n_rows && i < PREVIEW_SAMPLE_ROWS; i++) {
		const struct import_row *r = &f->rows[i];
		jw_obj_begin(w);
		jw_kint(w, "line", r->line);
		jw_kstr(w, "phone", r->phone[0] ? r->phone : NULL);
		jw_kstr(w, "email", r->email);
		jw_kstr(w, "name", r->name);
		jw_kmoney(w, "points", r->points_minor);
		write_date(w, "expires", r->expires_ms);
		jw_kbool(w, "valid", r->valid);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_knull(w, "result");
	jw_obj_end(w);
}

/* An import's state (GET, and a preview of a file already applied). */
static void write_state(struct jw *w, const struct import_rec *im)
{
	int64_t done = 0, total = im->valid_rows;
	bool applying = im->status == IMPORT_PREVIEW && import_progress(im->id, &done, &total);
	if (im->status == IMPORT_APPLIED)
		done = total;
	jw_obj_begin(w);
	jw_kint(w, "importId", im->id);
	jw_kstr(w, "sha256", im->sha256);
	jw_kstr(w, "status", applying ? "applying" : status_names[im->status]);
	jw_kint(w, "rows", im->total_rows);
	jw_kint(w, "valid", im->valid_rows);
	jw_kint(w, "problemCount", im->problems);
	jw_kint(w, "done", done);
	jw_kint(w, "total", total);
	jw_kint(w, "createdAt", im->created_ms);
	if (im->applied_ms)
		jw_kint(w, "appliedAt", im->applied_ms);
	else
		jw_knull(w, "appliedAt");
	jw_key(w, "result");
	if (im->result)
		jw_raw(w, im->result);
	else
		jw_null(w);
	jw_obj_end(w);
}

/* ---- POST /imports/clients/ ---- */

struct preview_req {
	const char *file; /* as uploaded */
	size_t file_len;
	char *text; /* as UTF-8 */
	size_t text_len;
	enum csv_encoding encoding;
	char sha256[65];
};

static enum store_rc preview_tx(struct call *c, void *ctx)
{
	struct preview_req *r = ctx;
	int64_t merchant_id = c->who.merchant_id, now = now_ms();
	struct import_rec im = {0};
	struct import_file f = {0};
	struct loyalty_settings s;
	char err[512];
	enum store_rc rc = STORE(c->db, settings_get, merchant_id, &s);
	if (rc == STORE_OK)
		rc = STORE(c->db, import_find, merchant_id, r->sha256, &im);
	if (rc == STORE_OK && im.status == IMPORT_APPLIED) {
		/* The same file again: nothing to preview, its apply stands. */
		struct jw w;
		call_json(c, 200, &w);
		write_state(&w, &im);
		goto cleanup;
	}
	if (rc != STORE_OK && rc != STORE_NOT_FOUND)
		goto cleanup;
	bool known = rc == STORE_OK;
	if (!import_file_parse(r->text, r->text_len, MONEY_DIGITS, now, &f, err, sizeof(err))) {
		call_error(c, 400, "invalid_csv", "file: %s", err);
		rc = STORE_NOT_FOUND; /* answered: roll back */
		goto cleanup;
	}
	f.encoding = r->encoding;
	rc = import_file_check_clients(c->db, merchant_id, &f);
	if (rc != STORE_OK)
		goto cleanup;
	im.total_rows = (int64_t)f.n_rows;
	im.valid_rows = (int64_t)f.n_valid;
	im.problems = (int64_t)f.n_problems;
	if (known) {
		rc = STORE(c->db, import_update, &im);
	} else {
		im.merchant_id = merchant_id;
		snprintf(im.sha256, sizeof(im.sha256), "%s", r->sha256);
		im.status = IMPORT_PREVIEW;
		im.csv = xstrndup(r->text, r->text_len);
		im.created_by = c->who.account_id;
		im.created_ms = now;
		rc = STORE(c->db, import_create, &im, &im.id);
		if (rc == STORE_CONFLICT) /* the same file uploaded at the same moment */
			rc = STORE_RETRY;
	}
	if (rc != STORE_OK)
		goto cleanup;
	struct jw w;
	call_json(c, 200, &w);
	write_preview(&w, &im, &f, s.currency);
cleanup:
	import_file_clear(&f);
	import_rec_clear(&im);
	return rc;
}

void imports_create(struct call *c)
{
	struct preview_req r = {0};
	char err[512];
	if (!import_body(c, &r.file, &r.file_len))
		return;
	if (!csv_text_utf8(r.file, r.file_len, &r.text, &r.text_len, &r.encoding, err,
			   sizeof(err))) {
		call_error(c, 400, "invalid_csv", "file: %s", err);
		return;
	}
	sha256_hex(r.file, r.file_len, r.sha256);
	c->idem_payload = r.file;
	c->idem_payload_len = r.file_len;
	call_write_tx(c, preview_tx, &r);
	free(r.text);
}

/* ---- GET /imports/clients/{id}/ ---- */

void imports_get(struct call *c)
{
	struct import_rec im = {0};
	enum store_rc rc = STORE(c->db, import_get, c->who.merchant_id, c->path_id[0], &im);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "import not found");
	} else if (rc != STORE_OK) {
		call_store_error(c, rc);
	} else {
		struct jw w;
		call_json(c, 200, &w);
		write_state(&w, &im);
	}
	import_rec_clear(&im);
}

/* ---- POST /imports/clients/{id}/apply/ ---- */

static enum store_rc apply_tx(struct call *c, void *ctx)
{
	const bool *skip_problems = ctx;
	int64_t now = now_ms();
	struct import_rec im = {0};
	struct outcome o = {0};
	enum store_rc rc = STORE(c->db, import_get, c->who.merchant_id, c->path_id[0], &im);
	if (rc == STORE_NOT_FOUND) {
		call_error(c, 404, "not_found", "import not found");
		goto cleanup;
	}
	if (rc != STORE_OK)
		goto cleanup;
	if (im.status == IMPORT_APPLIED) { /* applied before: its answer again, nothing new */
		struct jw w;
		call_json(c, 200, &w);
		jw_raw(&w, im.result);
		goto cleanup;
	}
	struct import_applied res;
	bool ok = import_apply(c->db, &im, *skip_problems, now, &res, &o);
	if (ok) {
		struct buf body;
		struct jw w;
		buf_init(&body);
		jw_init(&w, &body);
		jw_obj_begin(&w);
		jw_kint(&w, "importId", im.id);
		jw_kstr(&w, "status", "applied");
		jw_kint(&w, "rows", im.total_rows);
		jw_kint(&w, "created", res.created);
		jw_kint(&w, "skipped", res.skipped);
		jw_kmoney(&w, "points", res.points_minor);
		jw_kstr(&w, "currency", currency_name(res.currency));
		jw_kint(&w, "appliedAt", now);
		jw_obj_end(&w);
		buf_putc(&body, '\0');
		im.status = IMPORT_APPLIED;
		im.valid_rows = res.created;
		im.applied_ms = now;
		im.result = xstrdup(body.data);
		buf_free(&body);
		rc = STORE(c->db, import_update, &im);
		if (rc == STORE_OK) {
			call_json(c, 200, &w);
			jw_raw(&w, im.result);
		}
		goto cleanup;
	}
	rc = call_outcome(c, &o);
cleanup:
	import_rec_clear(&im);
	return rc;
}

void imports_apply(struct call *c)
{
	bool skip_problems = false;
	if (!body_bool(c, c->body, "skipProblems", "skipProblems", false, &skip_problems, NULL))
		return;
	call_write_tx(c, apply_tx, &skip_problems);
	/* committed (GET now reads "applied") or undone: either way no longer applying */
	import_progress_end(c->path_id[0]);
}

/* ---- GET /exports/clients.csv, GET /exports/orders.csv ---- */

/* Rows read per page: each page is one short read transaction on a pooled connection. */
#define EXPORT_PAGE 1000

enum export_kind { EXPORT_CLIENTS, EXPORT_ORDERS };

struct export_stream {
	struct store *store;
	int64_t merchant_id;
	enum export_kind kind;
	enum currency cur;
	char sep;
	int64_t after_id; /* the last id written */
	bool done;
	struct buf pending; /* made, not yet sent */
	size_t sent;	    /* of pending */
};

/* A field as CSV: quoted when it holds the separator, a quote or a line break; a text that a
 * spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe. */
static void csv_field(struct buf *b, char sep, const char *s, bool text)
{
	if (!s)
		s = "";
	bool formula = text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
	bool quote = formula || strchr(s, sep) || strpbrk(s, "\"\r\n");
	if (quote)
		buf_putc(b, '"');
	if (formula)
		buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_putc(b, '"');
		buf_putc(b, *p);
	}
	if (quote)
		buf_putc(b, '"');
}

static void csv_money(struct buf *b, money_t minor)
{
	char text[FIXED_FMT_MAX];
	fixed_format(minor, MONEY_DIGITS, text);
	buf_puts(b, text);
}

static void csv_time(struct buf *b, int64_t ms)
{
	char text[UTC_TEXT_BYTES];
	utc_format_ms(ms, text);
	buf_puts(b, text);
}

/* The separator, then a cell that needs no quoting (a number, a name of ours). */
static void cell_money(struct buf *b, char sep, money_t minor)
{
	buf_putc(b, sep);
	csv_money(b, minor);
}

static void cell_word(struct buf *b, char sep, const char *word)
{
	buf_putc(b, sep);
	buf_puts(b, word);
}

static bool export_client_row(void *ctx, const struct client *cl, money_t balance_minor)
{
	struct export_stream *x = ctx;
	struct buf *b = &x->pending;
	buf_printf(b, "%lld", (long long)cl->id);
	buf_putc(b, x->sep);
	csv_field(b, x->sep, cl->phone, false);
	buf_putc(b, x->sep);
	csv_field(b, x->sep, cl->email, true);
	buf_putc(b, x->sep);
	csv_field(b, x->sep, cl->name, true);
	cell_money(b, x->sep, balance_minor);
	buf_putc(b, x->sep);
	csv_time(b, cl->created_ms);
	buf_puts(b, "\r\n");
	x->after_id = cl->id;
	return true;
}

static bool export_order_row(void *ctx, const struct order *o)
{
	struct export_stream *x = ctx;
	struct buf *b = &x->pending;
	char sep = x->sep;
	buf_printf(b, "%lld%c%lld%c", (long long)o->id, sep, (long long)o->order_number, sep);
	csv_field(b, sep, o->external_id, true);
	buf_putc(b, sep);
	csv_time(b, o->order_date_ms);
	cell_word(b, sep, o->refund ? "refund" : "sale");
	buf_putc(b, sep);
	if (o->client_id)
		buf_printf(b, "%lld", (long long)o->client_id);
	cell_money(b, sep, o->total_minor);
	cell_money(b, sep, o->card_minor + o->cash_minor);
	cell_money(b, sep, o->spent_minor);
	cell_word(b, sep, currency_name(o->spent_currency));
	cell_money(b, sep, o->accrued_minor);
	cell_word(b, sep, currency_name(o->accrued_currency));
	buf_putc(b, sep);
	if (o->refund)
		buf_printf(b, "%lld", (long long)o->refund_of);
	cell_money(b, sep, o->refunded_total_minor);
	const char *status = o->fully_refunded		   ? "refunded"
			     : o->refunded_total_minor > 0 ? "partly_refunded"
							   : "paid";
	cell_word(b, sep, o->refund ? "" : status);
	buf_puts(b, "\r\n");
	x->after_id = o->id;
	return true;
}

/* Reads the next page into pending (or marks the end). false: storage failed. */
static bool export_page(struct export_stream *x)
{
	struct store_conn *db = x->store->ops->acquire(x->store);
	int64_t before = x->after_id;
	enum store_rc rc = STORE(db, begin, false);
	if (rc == STORE_OK) {
		rc = x->kind == EXPORT_CLIENTS
			 ? STORE(db, clients_export, x->merchant_id, x->cur, x->after_id,
				 EXPORT_PAGE, export_client_row, x)
			 : STORE(db, orders_export, x->merchant_id, x->after_id, EXPORT_PAGE,
				 export_order_row, x);
		db->ops->rollback(db);
	}
	x->store->ops->release(db);
	if (rc != STORE_OK) {
		log_error("export of merchant %lld failed after id %lld", (long long)x->merchant_id,
			  (long long)x->after_id);
		return false;
	}
	/* A short page is the last (ids only grow: a client made meanwhile comes after). */
	if (x->after_id == before)
		x->done = true;
	return true;
}

static long export_read(void *ctx, char *out, size_t max)
{
	struct export_stream *x = ctx;
	while (x->sent == x->pending.len) {
		if (x->done)
			return 0;
		buf_reset(&x->pending);
		x->sent = 0;
		if (!export_page(x))
			return -1;
	}
	size_t n = x->pending.len - x->sent;
	if (n > max)
		n = max;
	memcpy(out, x->pending.data + x->sent, n);
	x->sent += n;
	return (long)n;
}

static void export_free(void *ctx)
{
	struct export_stream *x = ctx;
	buf_free(&x->pending);
	free(x);
}

/* ?sep=semicolon (the default: what Excel in Russia reads), comma or tab. */
static bool export_sep(struct call *c, char *sep)
{
	const char *v = request_query(c->req, "sep");
	*sep = ';';
	if (!v || !*v || strcmp(v, "semicolon") == 0)
		return true;
	if (strcmp(v, "comma") == 0)
		*sep = ',';
	else if (strcmp(v, "tab") == 0)
		*sep = '\t';
	else {
		call_error(c, 400, "validation_failed", "sep: must be semicolon, comma or tab");
		return false;
	}
	return true;
}

static void export_start(struct call *c, enum export_kind kind)
{
	char sep;
	struct loyalty_settings s;
	if (!export_sep(c, &sep))
		return;
	enum store_rc rc = STORE(c->db, settings_get, c->who.merchant_id, &s);
	if (rc != STORE_OK) {
		call_store_error(c, rc);
		return;
	}
	struct export_stream *x = xcalloc(1, sizeof(*x));
	x->store = c->app->store;
	x->merchant_id = c->who.merchant_id;
	x->kind = kind;
	x->cur = s.currency;
	x->sep = sep;
	buf_init(&x->pending);
	buf_puts(&x->pending, "\xEF\xBB\xBF"); /* the BOM: Excel reads the file as UTF-8 */
	static const char *const clients_cols[] = {"id",   "phone",   "email",
						   "name", "balance", "created"};
	static const char *const orders_cols[] = {
	    "id",	 "number",	   "external_id", "date",
	    "type",	 "client_id",	   "total",	  "paid",
	    "spent",	 "spent_currency", "accrued",	  "accrued_currency",
	    "refund_of", "refunded_total", "status"};
	const char *const *cols = kind == EXPORT_CLIENTS ? clients_cols : orders_cols;
	size_t n = kind == EXPORT_CLIENTS ? ARRAY_LEN(clients_cols) : ARRAY_LEN(orders_cols);
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_putc(&x->pending, sep);
		buf_puts(&x->pending, cols[i]);
	}
	buf_puts(&x->pending, "\r\n");
	struct response *resp = c->resp;
	resp->status = 200;
	resp->content_type =
	    sep == '\t' ? "text/tab-separated-values;charset=UTF-8" : "text/csv;charset=UTF-8";
	response_header(resp, "Content-Disposition",
			kind == EXPORT_CLIENTS ? "attachment; filename=\"clients.csv\""
					       : "attachment; filename=\"orders.csv\"");
	resp->stream = export_read;
	resp->stream_free = export_free;
	resp->stream_ctx = x;
}

void exports_clients(struct call *c)
{
	export_start(c, EXPORT_CLIENTS);
}

void exports_orders(struct call *c)
{
	export_start(c, EXPORT_ORDERS);
}
