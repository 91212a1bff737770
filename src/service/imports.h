/* Customer imports (issue 14) and manual balance adjustments: a merchant moving from another
 * system uploads a CSV of customers with opening balances, sees every row's problem, then
 * applies the file in one transaction, once per file (by its hash). No HTTP here: the handler
 * (handlers/imports.c) parses the request and renders these results. */
#ifndef KOPILKA_SERVICE_IMPORTS_H
#define KOPILKA_SERVICE_IMPORTS_H

#include "domain/csv.h"
#include "domain/text.h"
#include "service/outcome.h"
#include "store/imports.h"
#include "store/store.h"

/* Largest file an import takes (the route's body limit: API.md). */
#define IMPORT_FILE_MAX (20 * 1024 * 1024)
/* Most customer rows one file may have (the rows are held in memory while it is read). */
#define IMPORT_ROWS_MAX 200000
/* Longest name kept, in code points (as POST /clients/). */
#define IMPORT_NAME_MAX 256

/* One data row of the file as read: what a client would be made of. */
struct import_row {
	int64_t line; /* the line it starts on */
	char phone[PHONE_MAX_DIGITS + 1];
	char *email; /* as given, trimmed; owned; NULL when absent */
	char *name;  /* owned; NULL when absent */
	money_t points_minor;
	int64_t expires_ms; /* 0: never */
	bool valid;	    /* no problem found in it */
};

/* One problem of one row: its line, the column ("phone", "email", "name", "points",
 * "expires", "row") and a sentence. */
struct import_problem {
	int64_t line;
	const char *field;
	char message[160];
	size_t seq; /* the order it was found in (ties of a line keep it) */
};

/* A parsed file. */
struct import_file {
	enum csv_encoding encoding;
	char separator;
	char *columns[5]; /* the header's names of phone, email, name, points, expires (NULL:
			     not given); owned */
	struct import_row *rows;
	size_t n_rows, rows_cap;
	struct import_problem *problems;
	size_t n_problems, problems_cap;
	size_t n_valid;
};
void import_file_clear(struct import_file *f);

/* Reads UTF-8 CSV text (csv_text_utf8's) into f: the separator from the header line, the
 * columns by their English or Russian names, every data row checked on its own and against the
 * rows before it (a phone or email given twice). `digits`: the fraction digits points may have.
 * Rows whose fields are all empty are skipped. false: the file as a whole is refused (no
 * header naming a phone or an email column, a column named twice, no data row, more than
 * IMPORT_ROWS_MAX rows, an unclosed quote), with a sentence in err. */
bool import_file_parse(const char *text, size_t len, int digits, int64_t now, struct import_file *f,
		       char *err, size_t err_cap) MUST_CHECK;

/* Checks f's valid rows against the merchant's clients: a phone or email that is already a
 * client's is a problem of that row (an import only creates clients). */
enum store_rc import_file_check_clients(struct store_conn *db, int64_t merchant_id,
					struct import_file *f) MUST_CHECK;

/* What an apply did. */
struct import_applied {
	int64_t created;      /* clients made */
	int64_t skipped;      /* rows left out for their problems */
	money_t points_minor; /* opening balances written, in all */
	enum currency currency;
};

/* Applies import im (of the merchant, status preview, its csv read) in the caller's write
 * transaction: re-reads the file, checks it again (the merchant's clients may have changed
 * since the preview), and unless skip_problems refuses it as 409 import_has_problems while any
 * row has one; then creates every valid row's client, and for points above 0 a lot expiring at
 * the row's expiry and an `opening` ledger row with the reason "import <id>". Progress is
 * published (import_progress) every few hundred rows. The caller stores the result. */
bool import_apply(struct store_conn *db, const struct import_rec *im, bool skip_problems,
		  int64_t now, struct import_applied *res, struct outcome *o) MUST_CHECK;

/* An apply running in this process: how many of total rows it has written (false: none
 * running for this import). */
bool import_progress(int64_t import_id, int64_t *done, int64_t *total);
/* Forgets the progress of an apply that ended (committed or not). */
void import_progress_end(int64_t import_id);

#endif
