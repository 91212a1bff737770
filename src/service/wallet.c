/* Apple Wallet passes (see wallet.h): the signer from the settings and the .pkpass. The pass's
 * format: Apple's "Wallet Developer Guide" and PassKit's Pass reference (pass.json keys,
 * manifest.json, the detached PKCS#7 signature). OpenSSL's libcrypto signs and hashes. */
#include "service/wallet.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "core/log.h"
#include "domain/zip.h"
#include "service/wallet_icon.h"

struct wallet_signer {
	char *pass_type_id, *team_id;
	X509 *cert;
	EVP_PKEY *key;
	STACK_OF(X509) * chain; /* the WWDR certificate, added to the signature */
};

void wallet_signer_free(struct wallet_signer *s)
{
	if (!s)
		return;
	free(s->pass_type_id);
	free(s->team_id);
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	sk_X509_pop_free(s->chain, X509_free);
	free(s);
}

/* A PEM pass phrase is never asked for (a server has no terminal): an encrypted key fails. */
static int no_pass_phrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* libcrypto's first queued error as text, for a message ("" when none); clears the queue. */
static const char *crypto_reason(char *out, size_t len)
{
	unsigned long e = ERR_get_error();
	out[0] = '\0';
	if (e)
		ERR_error_string_n(e, out, len);
	ERR_clear_error();
	return out;
}

/* Reads the PEM file of setting `flag`: a certificate (want_key false) or a private key. NULL
 * with err set when the file cannot be opened or holds no such PEM block. */
static void *read_pem(const char *flag, const char *path, bool want_key, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_len, "%s: cannot read %s: %s", flag, path, strerror(errno));
		return NULL;
	}
	void *obj = want_key ? (void *)PEM_read_PrivateKey(f, NULL, no_pass_phrase, NULL)
			     : (void *)PEM_read_X509(f, NULL, no_pass_phrase, NULL);
	fclose(f);
	if (!obj) {
		char why[256];
		crypto_reason(why, sizeof(why));
		snprintf(err, err_len, "%s: %s is not a PEM %s (%s)", flag, path,
			 want_key ? "private key without a pass phrase" : "certificate", why);
	}
	return obj;
}

enum wallet_load_rc wallet_signer_load(const struct config *cfg, struct wallet_signer **out,
				       char *err, size_t err_len)
{
	const struct {
		const char *flag, *value;
	} settings[] = {
	    {"--wallet-pass-type-id", cfg->wallet_pass_type_id},
	    {"--wallet-team-id", cfg->wallet_team_id},
	    {"--wallet-cert", cfg->wallet_cert},
	    {"--wallet-key", cfg->wallet_key},
	    {"--wallet-wwdr", cfg->wallet_wwdr},
	};
	*out = NULL;
	const char *set = NULL, *unset = NULL;
	for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
		bool given = settings[i].value && *settings[i].value;
		if (given && !set)
			set = settings[i].flag;
		if (!given && !unset)
			unset = settings[i].flag;
	}
	if (!set)
		return WALLET_OFF;
	if (unset) {
		snprintf(err, err_len,
			 "%s: not set while %s is: the five --wallet-* settings are set all "
			 "together or not at all",
			 unset, set);
		return WALLET_BAD;
	}
	struct wallet_signer *s = xcalloc(1, sizeof(*s));
	s->pass_type_id = xstrdup(cfg->wallet_pass_type_id);
	s->team_id = xstrdup(cfg->wallet_team_id);
	X509 *wwdr = NULL;
	s->cert = read_pem("--wallet-cert", cfg->wallet_cert, false, err, err_len);
	if (!s->cert)
		goto fail;
	s->key = read_pem("--wallet-key", cfg->wallet_key, true, err, err_len);
	if (!s->key)
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ERR_clear_error();
		snprintf(err, err_len,
			 "--wallet-key: the key in %s is not the private key of --wallet-cert's "
			 "certificate %s",
			 cfg->wallet_key, cfg->wallet_cert);
		goto fail;
	}
	wwdr = read_pem("--wallet-wwdr", cfg->wallet_wwdr, false, err, err_len);
	if (!wwdr)
		goto fail;
	s->chain = sk_X509_new_null();
	if (!s->chain || !sk_X509_push(s->chain, wwdr)) {
		X509_free(wwdr);
		snprintf(err, err_len, "--wallet-wwdr: out of memory");
		goto fail;
	}
	*out = s;
	return WALLET_ON;
fail:
	wallet_signer_free(s);
	return WALLET_BAD;
}

void wallet_serial(int64_t merchant_id, int64_t client_id, char out[WALLET_SERIAL_MAX])
{
	snprintf(out, WALLET_SERIAL_MAX, "%lld-%lld", (long long)merchant_id, (long long)client_id);
}

void wallet_auth_token(const char *client_token, char out[WALLET_AUTH_TOKEN_MAX])
{
	static const char domain[] = "kopilka-passkit-v1:";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(md, domain, sizeof(domain) - 1) == 1 &&
		  EVP_DigestUpdate(md, client_token, strlen(client_token)) == 1 &&
		  EVP_DigestFinal_ex(md, digest, &digest_len) == 1 && digest_len == 32;
	EVP_MD_CTX_free(md);
	if (!ok)
		abort(); /* SHA-256 of a few bytes does not fail but for memory */
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

bool wallet_auth_ok(const char *client_token, const char *given)
{
	char want[WALLET_AUTH_TOKEN_MAX];
	wallet_auth_token(client_token, want);
	size_t n = strlen(want);
	/* The length is no secret (always 64); the comparison of the digits takes the same
	 * time wherever they differ. */
	return given && strlen(given) == n && CRYPTO_memcmp(want, given, n) == 0;
}

/* "rgb(r, g, b)", the colour form pass.json takes. */
static json_t *rgb_text(unsigned r, unsigned g, unsigned b)
{
	char text[24];
	snprintf(text, sizeof(text), "rgb(%u, %u, %u)", r, g, b);
	return json_string(text);
}

/* A field; with change (not NULL) its changeMessage, shown on the lock screen when an update
 * changes the value ("%@" is the new value). */
static json_t *field(const char *key, const char *label, json_t *value, const char *change)
{
	if (change)
		return json_pack("{s:s, s:s, s:o, s:s}", "key", key, "label", label, "value", value,
				 "changeMessage", change);
	return json_pack("{s:s, s:s, s:o}", "key", key, "label", label, "value", value);
}

/* pass.json of a card (a storeCard), NULL when memory ran out. The caller frees it. */
static char *pass_json(const struct wallet_signer *s, const struct wallet_card *k)
{
	char serial[WALLET_SERIAL_MAX];
	wallet_serial(k->merchant_id, k->client_id, serial);
	const char *org = k->organization && *k->organization ? k->organization : "kopilka";
	/* company is at most 256 characters of up to 4 bytes each: never cut. */
	char description[1536];
	snprintf(description, sizeof(description), "Карта покупателя: %s", org);
	/* Text on the brand colour as on the card page: black on a light one, white on a dark
	 * one; labels a shade softer. */
	unsigned text = k->light ? 0 : 255, label = k->light ? 63 : 228;
	/* json_pack's "o" takes each value's reference, on failure too. */
	json_t *store_card =
	    json_pack("{s:[o], s:[o, o], s:[o, o]}", "primaryFields",
		      field("points", "Баллы", json_string(k->points), "Баллов на карте: %@"),
		      "secondaryFields",
		      field("rubles", "Рубли", json_string(k->rubles), "Рублей на карте: %@"),
		      field("coupons", "Купоны", json_integer(k->coupons), "Купонов на карте: %@"),
		      "backFields", field("card", "Карта", json_string(k->card_url), NULL),
		      field("token", "Номер карты", json_string(k->token), NULL));
	json_t *pass = json_pack(
	    "{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:[{s:s, s:s, s:s, s:s}]}",
	    "formatVersion", 1, "passTypeIdentifier", s->pass_type_id, "teamIdentifier", s->team_id,
	    "serialNumber", serial, "organizationName", org, "description", description, "logoText",
	    org, "backgroundColor", rgb_text(k->rgb[0], k->rgb[1], k->rgb[2]), "foregroundColor",
	    rgb_text(text, text, text), "labelColor", rgb_text(label, label, label), "storeCard",
	    store_card, "barcodes", "format", "PKBarcodeFormatQR", "message", k->token,
	    "messageEncoding", "iso-8859-1", "altText", k->token);
	if (!pass)
		return NULL;
	/* Updates (Apple's "Adding a Web Service to Update Passes"): where the device registers
	 * and fetches the latest pass, and the token it shows there. */
	if (k->web_service_url) {
		char auth[WALLET_AUTH_TOKEN_MAX];
		wallet_auth_token(k->token, auth);
		if (json_object_set_new(pass, "webServiceURL", json_string(k->web_service_url)) ||
		    json_object_set_new(pass, "authenticationToken", json_string(auth))) {
			json_decref(pass);
			return NULL;
		}
	}
	char *text_out = json_dumps(pass, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(pass);
	return text_out;
}

/* Lowercase hex of the SHA-1 of data, into out (41 bytes). */
static bool sha1_hex(const unsigned char *data, size_t len, char out[41])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	if (EVP_Digest(data, len, digest, &digest_len, EVP_sha1(), NULL) != 1 || digest_len != 20)
		return false;
	for (unsigned i = 0; i < digest_len; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return true;
}

/* The DER detached PKCS#7 signature of data by s (signing time included, the WWDR certificate
 * added), heap; NULL on failure (logged). */
static unsigned char *sign_detached(const struct wallet_signer *s, const unsigned char *data,
				    size_t len, size_t *len_out)
{
	unsigned char *der = NULL;
	PKCS7 *p7 = NULL;
	BIO *in = BIO_new_mem_buf(data, (int)len);
	if (in)
		p7 = PKCS7_sign(s->cert, s->key, s->chain, in, PKCS7_DETACHED | PKCS7_BINARY);
	int der_len = p7 ? i2d_PKCS7(p7, NULL) : -1;
	if (der_len > 0) {
		der = xmalloc((size_t)der_len);
		unsigned char *p = der;
		if (i2d_PKCS7(p7, &p) != der_len) {
			free(der);
			der = NULL;
		}
	}
	if (!der) {
		char why[256];
		log_error("wallet: signing a pass failed: %s", crypto_reason(why, sizeof(why)));
	} else {
		*len_out = (size_t)der_len;
	}
	PKCS7_free(p7);
	BIO_free(in);
	return der;
}

unsigned char *wallet_pass(const struct wallet_signer *s, const struct wallet_card *card,
			   size_t *len_out)
{
	enum { PASS, ICON, LOGO, MANIFEST, SIGNATURE, FILES };
	struct zip_entry files[FILES] = {
	    [PASS] = {"pass.json", NULL, 0},
	    [ICON] = {"icon.png", wallet_default_png, sizeof(wallet_default_png)},
	    [LOGO] = {"logo.png", wallet_default_png, sizeof(wallet_default_png)},
	    [MANIFEST] = {"manifest.json", NULL, 0},
	    [SIGNATURE] = {"signature", NULL, 0},
	};
	unsigned char *zip = NULL, *signature = NULL;
	char *manifest = NULL;
	json_t *hashes = NULL;
	char *pass = pass_json(s, card);
	if (!pass)
		goto cleanup;
	files[PASS].data = (const unsigned char *)pass;
	files[PASS].len = strlen(pass);
	if (card->logo && card->logo_len) {
		/* The merchant's logo is the pass's icon too (the lock screen, notifications). */
		for (int i = ICON; i <= LOGO; i++) {
			files[i].data = card->logo;
			files[i].len = card->logo_len;
		}
	}
	hashes = json_object();
	for (int i = PASS; i < MANIFEST; i++) {
		char hex[41];
		if (!hashes || !sha1_hex(files[i].data, files[i].len, hex) ||
		    json_object_set_new(hashes, files[i].name, json_string(hex)) != 0)
			goto cleanup;
	}
	manifest = json_dumps(hashes, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!manifest)
		goto cleanup;
	files[MANIFEST].data = (const unsigned char *)manifest;
	files[MANIFEST].len = strlen(manifest);
	signature =
	    sign_detached(s, files[MANIFEST].data, files[MANIFEST].len, &files[SIGNATURE].len);
	if (!signature)
		goto cleanup;
	files[SIGNATURE].data = signature;
	zip = zip_store(files, FILES, len_out);
cleanup:
	free(pass);
	free(manifest);
	free(signature);
	json_decref(hashes);
	return zip;
}
