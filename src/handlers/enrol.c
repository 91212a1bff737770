/* Self-enrolment (issue 15): a merchant's public join page /j/{join code} and its confirmation.
 *
 *   GET  /j/{code}          the form: phone, name, email, birthday (optional) and the consent
 *                           to personal-data processing (152-FZ), its text and version
 *   POST /j/{code}          checks every field (errors beside the fields, the form shown again
 *                           with what was typed, 400), the rate limits (429), stores a pending
 *                           enrolment with the hash of a 6-digit code, sends the code by SMS
 *                           (service/sms.c), 303 to the confirmation
 *   GET  /j/{code}/confirm?t={enrolment token}   the code's form
 *   POST /j/{code}/confirm  the code: right, the client is registered or found and the consent
 *                           stored (service/clients.c, client_enrol), 303 to the card /c/{token};
 *                           wrong, one attempt fewer (--enrol-attempts), 400; late, 410
 *
 * The pages are the card's (handlers/page.c): plain HTML, no script, a strict CSP. No CSRF token:
 * the forms carry no ambient authority (no cookie, no session), so a form posted from another
 * site can do nothing its author could not do by posting it himself — ask for a code to be sent
 * (which the rate limits bound) or try a code (which the attempts bound); the confirmation needs
 * the code from the phone. docs/CARD.md, "Joining". An inactive program (the loyalty settings'
 * active false) takes no one: its pages answer 404 saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/log.h"
#include "domain/text.h"
#include "handlers/handlers.h"
#include "handlers/page.h"
#include "service/clients.h"
#include "service/sms.h"
#include "store/accounts.h"
#include "store/clients.h"
#include "store/merchant.h"

/* The consent text when --consent-file is not set: paragraphs split by blank lines. */
static const char builtin_consent[] =
    "Я даю согласие продавцу, чья программа лояльности указана на этой странице (далее — "
    "оператор), на обработку моих персональных данных: номера телефона, имени, адреса "
    "электронной почты, даты рождения, а также сведений о моих покупках, начисленных и "
    "списанных баллах и купонах.\n\n"
    "Цель обработки — моё участие в программе лояльности: ведение карты участника, начисление "
    "и списание баллов, выдача купонов, сообщения о состоянии счёта.\n\n"
    "Действия с данными: сбор, запись, систематизация, накопление, хранение, уточнение, "
    "использование, удаление и уничтожение, с использованием средств автоматизации и без "
    "них.\n\n"
    "Согласие действует до выхода из программы лояльности и может быть отозвано мной в любой "
    "момент письменным заявлением оператору (Федеральный закон от 27.07.2006 № 152-ФЗ «О "
    "персональных данных»).";

#define CODE_DIGITS 6
#define NAME_MAX_CHARS 256

const char *enrol_consent_text(const struct app *app)
{
	return app->consent_text ? app->consent_text : builtin_consent;
}

/* The join code of the path: 1 to 32 of [0-9a-z] (the stored ones are 16 hex digits). */
static bool code_shape(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

/* What the form holds: as typed (shown again on an error) and as checked. */
struct enrol_form {
	char phone_in[128], name[NAME_MAX_CHARS * 4 + 1], email_in[EMAIL_MAX + 1], birthday_in[32];
	bool consent;
	char phone[PHONE_MAX_DIGITS + 1], email[EMAIL_MAX + 1], birthday[TEXT_BIRTHDAY_BYTES];
	/* The message beside each field (NULL: none). */
	const char *phone_error, *name_error, *email_error, *birthday_error, *consent_error;
};

/* The join page's merchant: its id, brand and whether its program takes members. */
struct join {
	struct call *c;
	const char *code;
	int64_t merchant_id;
	bool active;
	struct page_brand brand;
};

/* Reads the merchant of join code j->code. STORE_NOT_FOUND: no such code. */
static enum store_rc join_load(struct join *j)
{
	struct call *c = j->c;
	enum store_rc rc = STORE(c->db, merchant_by_join_code, j->code, &j->merchant_id);
	struct loyalty_settings st = {0};
	if (rc == STORE_OK)
		rc = STORE(c->db, settings_get, j->merchant_id, &st);
	j->active = st.active;
	if (rc == STORE_OK) {
		c->who.merchant_id = j->merchant_id;
		c->resp->merchant_id = j->merchant_id;
		rc = page_brand_load(c, j->merchant_id, &j->brand);
	}
	return rc;
}

/* Starts a page of the join flow with the merchant's brand and the given status. */
static struct buf *join_begin(struct join *j, int status, char **style)
{
	*style = page_style(&j->brand);
	page_headers(j->c, *style);
	page_begin(j->c, &j->brand, *style, "Программа лояльности");
	j->c->resp->status = status;
	return &j->c->resp->body;
}

/* A page of one message (and a link back to the form when again). */
static void join_message(struct join *j, int status, const char *title, const char *text,
			 bool again)
{
	char *style = NULL;
	struct buf *b = join_begin(j, status, &style);
	buf_puts(b, "<section><h2>");
	page_escape(b, title);
	buf_puts(b, "</h2><p>");
	page_escape(b, text);
	buf_puts(b, "</p>");
	if (again)
		buf_printf(b, "<a class=\"button\" href=\"/j/%s\">Начать заново</a>", j->code);
	buf_puts(b, "</section>\n");
	page_end(j->c);
	free(style);
}

static void closed_page(struct join *j)
{
	join_message(j, 404, "Запись закрыта",
		     "Программа лояльности сейчас не принимает новых участников.", false);
}

/* An input with its label and its error (aria-describedby, aria-invalid). */
static void field(struct buf *b, const char *id, const char *label, const char *type,
		  const char *attrs, const char *value, const char *error)
{
	buf_printf(b, "<label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" type=\"%s\" %s", id,
		   label, id, id, type, attrs);
	if (value && *value) {
		buf_puts(b, " value=\"");
		page_escape(b, value);
		buf_puts(b, "\"");
	}
	if (error)
		buf_printf(b,
			   " aria-invalid=\"true\" aria-describedby=\"%s-error\">"
			   "<p class=\"error\" id=\"%s-error\">",
			   id, id);
	else
		buf_puts(b, ">");
	if (error) {
		page_escape(b, error);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "\n");
}

/* The consent text as paragraphs (split by blank lines). */
static void consent_paragraphs(struct buf *b, const char *text)
{
	buf_puts(b, "<div class=\"consent\" id=\"consent-text\">");
	const char *p = text;
	while (*p) {
		const char *end = strstr(p, "\n\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *para = xstrndup(p, len);
		buf_puts(b, "<p>");
		page_escape(b, para);
		buf_puts(b, "</p>");
		free(para);
		p += len;
		while (*p == '\n')
			p++;
	}
	buf_puts(b, "</div>");
}

static void form_page(struct join *j, int status, const struct enrol_form *f)
{
	struct call *c = j->c;
	char *style = NULL;
	struct buf *b = join_begin(j, status, &style);
	buf_puts(b, "<section aria-labelledby=\"join\"><h2 id=\"join\">Стать участником "
		    "программы</h2><p class=\"muted\">Баллы и купоны — на карте в телефоне. Мы "
		    "пришлём код подтверждения по SMS.</p>\n");
	buf_printf(b, "<form class=\"fields\" method=\"post\" action=\"/j/%s\">\n", j->code);
	field(b, "phone", "Телефон", "tel",
	      "inputmode=\"tel\" autocomplete=\"tel\" required placeholder=\"+7 912 345-67-89\"",
	      f ? f->phone_in : NULL, f ? f->phone_error : NULL);
	field(b, "name", "Имя <span class=\"muted\">(необязательно)</span>", "text",
	      "autocomplete=\"given-name\" maxlength=\"256\"", f ? f->name : NULL,
	      f ? f->name_error : NULL);
	field(b, "email", "Email <span class=\"muted\">(необязательно)</span>", "email",
	      "autocomplete=\"email\" maxlength=\"254\"", f ? f->email_in : NULL,
	      f ? f->email_error : NULL);
	field(b, "birthday", "Дата рождения <span class=\"muted\">(необязательно)</span>", "date",
	      "autocomplete=\"bday\"", f ? f->birthday_in : NULL, f ? f->birthday_error : NULL);
	consent_paragraphs(b, enrol_consent_text(c->app));
	buf_puts(b, "<p class=\"muted\">Версия текста согласия: <span data-consent-version>");
	page_escape(b, c->app->cfg->consent_version);
	buf_puts(b, "</span></p>");
	buf_printf(
	    b,
	    "<label class=\"check\"><input type=\"checkbox\" id=\"consent\" name=\"consent\" "
	    "value=\"yes\" required%s%s> Я согласен(на) на обработку моих персональных данных "
	    "на условиях выше</label>",
	    f && f->consent ? " checked" : "",
	    f && f->consent_error ? " aria-invalid=\"true\" aria-describedby=\"consent-error\""
				  : "");
	if (f && f->consent_error) {
		buf_puts(b, "<p class=\"error\" id=\"consent-error\">");
		page_escape(b, f->consent_error);
		buf_puts(b, "</p>");
	}
	buf_puts(b, "\n<button type=\"submit\">Получить код по SMS</button></form></section>\n");
	page_end(c);
	free(style);
}

/* Reads and checks the form of POST /j/{code}: every field's error set (false when any). */
static bool form_read(struct call *c, struct enrol_form *f)
{
	const char *body = c->req->body ? c->req->body : "";
	size_t len = c->req->body_len;
	char consent[16] = "";
	int has_phone = page_form_value(body, len, "phone", f->phone_in, sizeof(f->phone_in));
	int has_name = page_form_value(body, len, "name", f->name, sizeof(f->name));
	int has_email = page_form_value(body, len, "email", f->email_in, sizeof(f->email_in));
	int has_birthday =
	    page_form_value(body, len, "birthday", f->birthday_in, sizeof(f->birthday_in));
	int has_consent = page_form_value(body, len, "consent", consent, sizeof(consent));
	size_t digits = 0;
	for (const char *p = f->phone_in; has_phone == 1 && *p; p++)
		digits += *p >= '0' && *p <= '9';
	if (has_phone != 1 || !*f->phone_in) {
		f->phone_error = "Телефон: укажите номер, на него придёт код в SMS.";
		if (has_phone < 0)
			f->phone_in[0] = '\0';
	} else if (strspn(f->phone_in, "+0123456789 ()-.") != strlen(f->phone_in) ||
		   !phone_normalize(f->phone_in, f->phone) || digits < 11 || digits > 15) {
		f->phone_error = "Телефон: номер из 11–15 цифр, например +7 912 345-67-89; "
				 "допустимы пробелы, скобки и дефисы.";
	}
	if (has_name < 0) {
		f->name[0] = '\0';
		f->name_error = "Имя: не длиннее 256 символов.";
	} else if (text_utf8_length(f->name) > NAME_MAX_CHARS) {
		f->name_error = "Имя: не длиннее 256 символов.";
	} else {
		for (const unsigned char *p = (const unsigned char *)f->name; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				f->name_error = "Имя: без управляющих символов.";
	}
	if (has_email < 0) {
		f->email_in[0] = '\0';
		f->email_error = "Email: адрес вида name@example.ru, не длиннее 254 символов.";
	} else if (has_email == 1 && *f->email_in && !email_normalize(f->email_in, f->email)) {
		f->email_error = "Email: адрес вида name@example.ru, не длиннее 254 символов.";
	}
	if (has_birthday < 0) {
		f->birthday_in[0] = '\0';
		f->birthday_error = "Дата рождения: дата вида 31.12.1990, не позже сегодняшней.";
	} else if (has_birthday == 1 && *f->birthday_in &&
		   !text_birthday_parse(f->birthday_in, BIRTHDAY_ISO_OR_TYPED, now_ms(),
					f->birthday)) {
		f->birthday_error = "Дата рождения: дата вида 31.12.1990, не позже сегодняшней.";
	}
	f->consent = has_consent == 1 && strcmp(consent, "yes") == 0;
	if (!f->consent)
		f->consent_error = "Согласие: без согласия на обработку персональных данных мы не "
				   "можем выпустить карту.";
	return !f->phone_error && !f->name_error && !f->email_error && !f->birthday_error &&
	       !f->consent_error;
}

void enrol_page(struct call *c)
{
	struct join j = {.c = c, .code = c->file};
	if (!code_shape(j.code)) {
		page_not_found(c, "Такой страницы записи нет.");
		return;
	}
	enum store_rc rc = STORE(c->db, begin, false);
	if (rc == STORE_OK)
		rc = join_load(&j);
	c->db->ops->rollback(c->db);
	if (rc == STORE_NOT_FOUND)
		page_not_found(c, "Такой страницы записи нет.");
	else if (rc != STORE_OK) {
		page_error_headers(c);
		call_store_error(c, rc);
	} else if (!j.active)
		closed_page(&j);
	else
		form_page(&j, 200, NULL);
	page_brand_free(&j.brand);
}

/* What a POST of the join flow decided, for the page written after its transaction. */
enum enrol_result {
	ENROL_NONE = 0, /* a storage failure: its JSON error is written */
	ENROL_NO_CODE,	/* no such join code: 404 */
	ENROL_CLOSED,	/* the program is inactive: 404 */
	ENROL_LIMIT,	/* a rate limit: 429 */
	ENROL_SENT,	/* a pending enrolment stored: send the code */
	ENROL_GONE,	/* no such enrolment of this merchant: 404 */
	ENROL_EXPIRED,	/* the code's time is over: 410 */
	ENROL_SPENT,	/* no attempts left: 429 */
	ENROL_WRONG,	/* a wrong code, counted: 400 */
	ENROL_JOINED,	/* confirmed: 303 to the card */
};

struct enrol_tx {
	struct join j;
	struct enrol_form *form;
	enum enrol_result result;
	bool limit_by_phone;
	struct enrolment e;
	char code[CODE_DIGITS + 1];
	const char *typed_code; /* the confirmation's code and enrolment token */
	char token[33];
	char card_token[33]; /* the card the confirmation leads to */
};

/* The code's hash as stored: SHA-256 of "token:code", in hex. */
static void code_hash(const char *token, const char *code, char out[65])
{
	char text[64];
	unsigned char digest[crypto_hash_sha256_BYTES];
	snprintf(text, sizeof(text), "%s:%s", token, code);
	crypto_hash_sha256(digest, (const unsigned char *)text, strlen(text));
	sodium_bin2hex(out, 65, digest, sizeof(digest));
}

/* Sets the result and the status it answers (a refusal's status keeps the transaction's
 * machinery from writing a storage error over it). */
static enum store_rc decide(struct call *c, struct enrol_tx *t, enum enrol_result r, int status,
			    enum store_rc rc)
{
	t->result = r;
	c->resp->status = status;
	return rc;
}

/* Loads the join code's merchant in the transaction; false: decided (no code, closed, error). */
static bool tx_join(struct call *c, struct enrol_tx *t, enum store_rc *rc)
{
	page_brand_free(&t->j.brand);
	*rc = join_load(&t->j);
	if (*rc == STORE_NOT_FOUND)
		*rc = decide(c, t, ENROL_NO_CODE, 404, STORE_NOT_FOUND);
	else if (*rc == STORE_OK && !t->j.active)
		*rc = decide(c, t, ENROL_CLOSED, 404, STORE_NOT_FOUND);
	return *rc == STORE_OK;
}

static enum store_rc submit_tx(struct call *c, void *ctx)
{
	struct enrol_tx *t = ctx;
	const struct config *cfg = c->app->cfg;
	enum store_rc rc;
	t->result = ENROL_NONE;
	if (!tx_join(c, t, &rc))
		return rc;
	int64_t now = now_ms();
	/* Rows older than both the window and a code's life count for nothing: they go, with the
	 * personal data they hold. */
	int64_t keep_ms = (cfg->enrol_window_seconds > cfg->enrol_code_ttl_seconds
			       ? cfg->enrol_window_seconds
			       : cfg->enrol_code_ttl_seconds) *
			  1000;
	rc = STORE(c->db, enrolments_purge, now - keep_ms);
	int64_t by_phone = 0, by_addr = 0;
	if (rc == STORE_OK)
		rc = STORE(c->db, enrolments_count, t->form->phone, c->req->remote_addr,
			   now - cfg->enrol_window_seconds * 1000, &by_phone, &by_addr);
	if (rc != STORE_OK)
		return rc;
	if (by_phone >= cfg->enrol_phone_limit || by_addr >= cfg->enrol_addr_limit) {
		t->limit_by_phone = by_phone >= cfg->enrol_phone_limit;
		return decide(c, t, ENROL_LIMIT, 429, STORE_NOT_FOUND);
	}
	struct enrol_form *f = t->form;
	enrolment_clear(&t->e);
	t->e.merchant_id = t->j.merchant_id;
	random_hex(t->e.token, 16);
	random_digits(t->code, CODE_DIGITS);
	code_hash(t->e.token, t->code, t->e.code_hash);
	t->e.phone = xstrdup(f->phone);
	t->e.name = *f->name ? xstrdup(f->name) : NULL;
	t->e.email = *f->email ? xstrdup(f->email) : NULL;
	t->e.birthday = *f->birthday ? xstrdup(f->birthday) : NULL;
	t->e.consent_version = xstrdup(cfg->consent_version);
	t->e.addr = xstrdup(c->req->remote_addr);
	t->e.created_ms = now;
	t->e.expires_ms = now + cfg->enrol_code_ttl_seconds * 1000;
	rc = STORE(c->db, enrolment_create, &t->e, &t->e.id);
	if (rc == STORE_OK)
		rc = decide(c, t, ENROL_SENT, 303, STORE_OK);
	return rc;
}

/* The Location of a 303 (an empty HTML body). */
static void see_other(struct call *c, const char *location)
{
	c->resp->status = 303;
	c->resp->content_type = "text/html; charset=utf-8";
	buf_reset(&c->resp->body);
	response_header(c->resp, "Location", location);
}

static void limit_page(struct join *j, bool by_phone)
{
	/* The oldest request counted leaves the window within this long. */
	char secs[24];
	snprintf(secs, sizeof(secs), "%lld", (long long)j->c->app->cfg->enrol_window_seconds);
	response_header(j->c->resp, "Retry-After", secs);
	join_message(j, 429, "Слишком много запросов",
		     by_phone ? "На этот номер уже отправлено много кодов. Попробуйте позже."
			      : "С этого устройства запрошено много кодов. Попробуйте позже.",
		     false);
}

void enrol_submit(struct call *c)
{
	struct enrol_form form = {0};
	struct enrol_tx t = {.j = {.c = c, .code = c->file}, .form = &form};
	if (!code_shape(t.j.code)) {
		page_not_found(c, "Такой страницы записи нет.");
		return;
	}
	if (!page_form_body(c)) {
		page_error_headers(c);
		return;
	}
	bool valid = form_read(c, &form);
	if (!valid) {
		/* The merchant's brand for the page shown again (no write). */
		enum store_rc rc = STORE(c->db, begin, false);
		if (rc == STORE_OK)
			rc = join_load(&t.j);
		c->db->ops->rollback(c->db);
		if (rc == STORE_NOT_FOUND) {
			page_not_found(c, "Такой страницы записи нет.");
		} else if (rc != STORE_OK) {
			page_error_headers(c);
			call_store_error(c, rc);
		} else if (!t.j.active) {
			closed_page(&t.j);
		} else {
			form_page(&t.j, 400, &form);
		}
		goto cleanup;
	}
	call_write_tx(c, submit_tx, &t);
	switch (c->resp->status >= 500 ? ENROL_NONE : t.result) {
	case ENROL_NO_CODE:
		page_not_found(c, "Такой страницы записи нет.");
		break;
	case ENROL_CLOSED:
		closed_page(&t.j);
		break;
	case ENROL_LIMIT:
		limit_page(&t.j, t.limit_by_phone);
		break;
	case ENROL_SENT: {
		char text[256], error[256] = "";
		const char *company = t.j.brand.company;
		snprintf(text, sizeof(text), "%s%sКод подтверждения: %s. Никому его не сообщайте.",
			 company ? company : "", company ? ". " : "", t.code);
		if (!sms_send(c->app->cfg, t.e.phone, text, error, sizeof(error))) {
			join_message(&t.j, 502, "SMS не отправлено",
				     "Не удалось отправить код. Попробуйте ещё раз через минуту.",
				     true);
			break;
		}
		char location[128];
		snprintf(location, sizeof(location), "/j/%s/confirm?t=%s", t.j.code, t.e.token);
		page_error_headers(c);
		see_other(c, location);
		break;
	}
	default:
		page_error_headers(c);
		if (c->resp->status < 400)
			call_store_error(c, STORE_ERROR);
		break;
	}
cleanup:
	page_brand_free(&t.j.brand);
	enrolment_clear(&t.e);
}

/* The phone as the confirmation shows it: the last two digits only. */
static void masked_phone(struct buf *b, const char *phone)
{
	size_t n = strlen(phone);
	buf_puts(b, "+");
	for (size_t i = 0; i < n; i++)
		buf_putc(b, i == 0 || i + 2 >= n ? phone[i] : '*');
}

static void confirm_page(struct join *j, int status, const struct enrolment *e, const char *error)
{
	char *style = NULL;
	struct buf *b = join_begin(j, status, &style);
	buf_puts(b, "<section aria-labelledby=\"confirm\"><h2 id=\"confirm\">Код из SMS</h2><p>"
		    "Мы отправили код на номер <span data-phone>");
	masked_phone(b, e->phone);
	buf_puts(b, "</span>.</p>\n");
	buf_printf(b,
		   "<form class=\"fields\" method=\"post\" action=\"/j/%s/confirm\">"
		   "<input type=\"hidden\" name=\"t\" value=\"%s\">\n",
		   j->code, e->token);
	field(b, "code", "Код из SMS", "text",
	      "inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" "
	      "maxlength=\"6\" required",
	      NULL, error);
	buf_printf(b,
		   "<button type=\"submit\">Подтвердить</button></form>"
		   "<p class=\"muted\"><a href=\"/j/%s\">Изменить номер или получить новый "
		   "код</a></p></section>\n",
		   j->code);
	page_end(j->c);
	free(style);
}

/* The {code} segment of /j/{code}/confirm (the router's ref_token). */
static const char *confirm_code(struct call *c)
{
	return code_shape(c->ref_token) ? c->ref_token : NULL;
}

/* The ?t= or form field t: an enrolment token (32 lowercase hex). */
static bool token_shape(const char *t)
{
	if (!t || strlen(t) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

void enrol_confirm_page(struct call *c)
{
	struct join j = {.c = c, .code = confirm_code(c)};
	struct enrolment e = {0};
	const char *token = request_query(c->req, "t");
	if (!j.code) {
		page_not_found(c, "Такой страницы записи нет.");
		return;
	}
	enum store_rc rc = STORE(c->db, begin, false);
	if (rc == STORE_OK)
		rc = join_load(&j);
	if (rc == STORE_OK)
		rc = token_shape(token) ? STORE(c->db, enrolment_get, token, &e) : STORE_NOT_FOUND;
	if (rc == STORE_OK && e.merchant_id != j.merchant_id)
		rc = STORE_NOT_FOUND;
	struct client cl = {0};
	if (rc == STORE_OK && e.client_id)
		rc = STORE(c->db, client_get, j.merchant_id, e.client_id, &cl);
	c->db->ops->rollback(c->db);
	if (rc == STORE_NOT_FOUND && j.merchant_id && j.active) {
		join_message(&j, 404, "Заявка не найдена",
			     "Ссылка устарела или неполна. Запросите код ещё раз.", true);
	} else if (rc == STORE_NOT_FOUND) {
		page_not_found(c, "Такой страницы записи нет.");
	} else if (rc != STORE_OK) {
		page_error_headers(c);
		call_store_error(c, rc);
	} else if (!j.active) {
		closed_page(&j);
	} else if (e.client_id) {
		char location[64];
		snprintf(location, sizeof(location), "/c/%s", cl.token);
		page_error_headers(c);
		see_other(c, location);
	} else {
		confirm_page(&j, 200, &e, NULL);
	}
	client_clear(&cl);
	enrolment_clear(&e);
	page_brand_free(&j.brand);
}

static enum store_rc confirm_tx(struct call *c, void *ctx)
{
	struct enrol_tx *t = ctx;
	enum store_rc rc;
	t->result = ENROL_NONE;
	if (!tx_join(c, t, &rc))
		return rc;
	enrolment_clear(&t->e);
	rc = STORE(c->db, enrolment_get, t->token, &t->e);
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && t->e.merchant_id != t->j.merchant_id))
		return decide(c, t, ENROL_GONE, 404, STORE_NOT_FOUND);
	if (rc != STORE_OK)
		return rc;
	int64_t now = now_ms();
	struct client cl = {0};
	if (t->e.client_id) {
		/* Confirmed already (the form sent twice): to the same card. */
		rc = STORE(c->db, client_get, t->j.merchant_id, t->e.client_id, &cl);
		if (rc == STORE_OK) {
			memcpy(t->card_token, cl.token, sizeof(t->card_token));
			rc = decide(c, t, ENROL_JOINED, 303, STORE_OK);
		}
		client_clear(&cl);
		return rc;
	}
	if (t->e.attempts >= c->app->cfg->enrol_attempts)
		return decide(c, t, ENROL_SPENT, 429, STORE_NOT_FOUND);
	if (now > t->e.expires_ms)
		return decide(c, t, ENROL_EXPIRED, 410, STORE_NOT_FOUND);
	char hash[65];
	code_hash(t->e.token, t->typed_code, hash);
	if (sodium_memcmp(hash, t->e.code_hash, 64) != 0) {
		/* Counted and committed: the refusal keeps its write. */
		rc = STORE(c->db, enrolment_attempt, t->e.id);
		t->e.attempts++;
		if (rc != STORE_OK)
			return rc;
		return decide(
		    c, t, t->e.attempts >= c->app->cfg->enrol_attempts ? ENROL_SPENT : ENROL_WRONG,
		    t->e.attempts >= c->app->cfg->enrol_attempts ? 429 : 400, STORE_OK);
	}
	struct outcome o = {0};
	if (!client_enrol(c->db, &t->e, now, &cl, &o)) {
		client_clear(&cl);
		return o.kind == OUTCOME_STORE ? o.rc : STORE_ERROR;
	}
	rc = STORE(c->db, enrolment_done, t->e.id, cl.id);
	if (rc == STORE_OK) {
		memcpy(t->card_token, cl.token, sizeof(t->card_token));
		log_info("enrolment %lld: client %lld joined merchant %lld (consent version %s)",
			 (long long)t->e.id, (long long)cl.id, (long long)t->j.merchant_id,
			 t->e.consent_version);
		rc = decide(c, t, ENROL_JOINED, 303, STORE_OK);
	}
	client_clear(&cl);
	return rc;
}

void enrol_confirm(struct call *c)
{
	struct enrol_tx t = {.j = {.c = c, .code = confirm_code(c)}};
	if (!t.j.code) {
		page_not_found(c, "Такой страницы записи нет.");
		return;
	}
	if (!page_form_body(c)) {
		page_error_headers(c);
		return;
	}
	const char *body = c->req->body ? c->req->body : "";
	char token[sizeof(t.token)] = "", code[32] = ""; /* longer than a token: not one */
	if (page_form_value(body, c->req->body_len, "t", token, sizeof(token)) != 1 ||
	    !token_shape(token))
		token[0] = '\0';
	int has_code = page_form_value(body, c->req->body_len, "code", code, sizeof(code));
	bool code_ok = has_code == 1 && strlen(code) == CODE_DIGITS &&
		       strspn(code, "0123456789") == CODE_DIGITS;
	snprintf(t.token, sizeof(t.token), "%s", token);
	t.typed_code = code;
	if (!code_ok && token[0]) {
		/* Not a code: said beside the field, no attempt counted. */
		enum store_rc rc = STORE(c->db, begin, false);
		if (rc == STORE_OK)
			rc = join_load(&t.j);
		if (rc == STORE_OK)
			rc = STORE(c->db, enrolment_get, token, &t.e);
		c->db->ops->rollback(c->db);
		if (rc == STORE_OK && t.e.merchant_id == t.j.merchant_id && t.j.active &&
		    !t.e.client_id) {
			confirm_page(&t.j, 400, &t.e, "Код: 6 цифр из SMS.");
			goto cleanup;
		}
		if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
			page_error_headers(c);
			call_store_error(c, rc);
			goto cleanup;
		}
	}
	if (!token[0]) {
		page_brand_free(&t.j.brand);
		enum store_rc rc = STORE(c->db, begin, false);
		if (rc == STORE_OK)
			rc = join_load(&t.j);
		c->db->ops->rollback(c->db);
		if (rc == STORE_OK)
			join_message(&t.j, 404, "Заявка не найдена",
				     "Ссылка устарела или неполна. Запросите код ещё раз.", true);
		else
			page_not_found(c, "Такой страницы записи нет.");
		goto cleanup;
	}
	call_write_tx(c, confirm_tx, &t);
	switch (c->resp->status >= 500 ? ENROL_NONE : t.result) {
	case ENROL_NO_CODE:
		page_not_found(c, "Такой страницы записи нет.");
		break;
	case ENROL_CLOSED:
		closed_page(&t.j);
		break;
	case ENROL_GONE:
		join_message(&t.j, 404, "Заявка не найдена",
			     "Ссылка устарела или неполна. Запросите код ещё раз.", true);
		break;
	case ENROL_EXPIRED:
		join_message(&t.j, 410, "Код устарел",
			     "Время ввода кода истекло. Запросите новый код.", true);
		break;
	case ENROL_SPENT:
		join_message(&t.j, 429, "Слишком много попыток",
			     "Код введён неверно слишком много раз. Запросите новый код.", true);
		break;
	case ENROL_WRONG: {
		char msg[128];
		int64_t left = c->app->cfg->enrol_attempts - t.e.attempts;
		snprintf(msg, sizeof(msg), "Код: неверный. Осталось попыток: %lld.",
			 (long long)left);
		confirm_page(&t.j, 400, &t.e, msg);
		break;
	}
	case ENROL_JOINED: {
		char location[64];
		snprintf(location, sizeof(location), "/c/%s", t.card_token);
		page_error_headers(c);
		see_other(c, location);
		break;
	}
	default:
		page_error_headers(c);
		if (c->resp->status < 400)
			call_store_error(c, STORE_ERROR);
		break;
	}
cleanup:
	page_brand_free(&t.j.brand);
	enrolment_clear(&t.e);
}
