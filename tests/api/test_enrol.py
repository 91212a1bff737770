"""Self-enrolment (issue 15): the merchant's public join page /j/{join code}, its SMS one-time code
and the 152-FZ consent stored per client. The SMS gateway is `http`, aimed at a receiver on
127.0.0.1 that this module starts and reads the codes from (and, in one test, the `log` gateway,
read from the server's log); every field's bad input, the wrong codes and their limit, expiry
(the clock moved), the rate limits per phone and per address (counted, not timed), an existing
phone, the consent in GET /clients/{id}/, the contact info's joinURL, 404s, and the pages'
headers (a strict CSP, no script)."""
import http.server
import json
import os
import re
import threading
import time
from urllib.parse import urlsplit, parse_qs

import pytest

import qrsvg
from conftest import (DEFAULT_SERVE_FLAGS, Env, Session, assert_error, body_of, database_for, describe,
                      new_phone)
from test_card_page import assert_page_headers, assert_style_allowed

CONSENT_VERSION = "2026-12-test"
SMS_TOKEN = "sms-secret-token-1"


class SmsReceiver:
    """The SMS provider: an HTTP server on 127.0.0.1 that keeps every message POSTed to it."""

    def __init__(self):
        self.messages = []  # {"phone", "text", "auth", "ctype"} in arrival order
        self.fail = False  # answer 500
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                msg = json.loads(body)
                msg["auth"] = self.headers.get("Authorization")
                msg["ctype"] = self.headers.get("Content-Type")
                with receiver.lock:
                    receiver.messages.append(msg)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/sms"

    def count(self):
        with self.lock:
            return len(self.messages)

    def last_code(self, phone):
        with self.lock:
            texts = [m["text"] for m in self.messages if m["phone"] == phone]
        assert texts, f"no SMS to {phone}"
        return re.search(r"\b(\d{6})\b", texts[-1]).group(1)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def flags(receiver, *extra):
    return DEFAULT_SERVE_FLAGS + ("--sms-gateway", "http", "--sms-url", receiver.url, "--sms-token", SMS_TOKEN,
                                  "--consent-version", CONSENT_VERSION, "--enrol-phone-limit", "3",
                                  "--enrol-addr-limit", "1000", "--webhook-allow-private", "1",
                                  "--webhook-period-ms", "50") + extra


@pytest.fixture(scope="module")
def sms():
    r = SmsReceiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def jenv(tmp_path_factory, engine, request, sms):
    """A server whose SMS go to the module's receiver; merchant A's program active, B's not."""
    tmp = tmp_path_factory.mktemp(f"kopilka-enrol-{engine}")
    e = Env(tmp, flags=flags(sms), db=database_for(engine, tmp, request), engine=engine)
    try:
        e.a.settings(active=True)
        body_of(e.a.put("/loyalty/settings/contact_info/", {"company": "Кофейня «Зерно»", "brandColor": "#1e7f4f"}))
        yield e
    finally:
        e.close()


def root(env):
    return env.base.replace("/ext/api/v1", "")


def join_path(api):
    url = body_of(api.get("/loyalty/settings/contact_info/"))["joinURL"]
    return urlsplit(url).path


def form(phone, **fields):
    body = {"phone": phone, "consent": "yes"}
    body.update({k: v for k, v in fields.items() if v is not None})
    return {k: v for k, v in body.items() if v is not False}


def submit(env, path, data, s=None):
    return (s or Session()).post(root(env) + path, data=data, allow_redirects=False)


def start(env, api, phone, **fields):
    """POSTs the join form; returns the confirmation's path and the enrolment token."""
    path = join_path(api)
    r = submit(env, path, form(phone, **fields))
    assert r.status_code == 303, describe(r)
    assert_page_headers(r)
    loc = r.headers["Location"]
    assert loc.startswith(f"{path}/confirm?t="), loc
    token = parse_qs(urlsplit(loc).query)["t"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    return f"{path}/confirm", token


def confirm(env, path, token, code):
    return submit(env, path, {"t": token, "code": code})


def error_of(r, field):
    m = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', r.text)
    return m.group(1) if m else None


# --- the join link and the page ---------------------------------------------------------------

def test_join_url_in_contact_info(jenv):
    a = body_of(jenv.a.get("/loyalty/settings/contact_info/"))["joinURL"]
    b = body_of(jenv.b.get("/loyalty/settings/contact_info/"))["joinURL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/j/[0-9a-f]{16}", a), a
    assert a != b
    # Read-only: a PUT that names it changes nothing.
    got = body_of(jenv.a.put("/loyalty/settings/contact_info/", {"joinURL": "https://evil.example/"}))
    assert got["joinURL"] == a


def test_join_qr_code_is_the_join_url(jenv):
    """GET .../contact_info/join-qr.svg: the joinURL as an SVG QR code that decodes to it, each
    merchant's own; authenticated like the contact info."""
    for api in (jenv.a, jenv.b):
        url = body_of(api.get("/loyalty/settings/contact_info/"))["joinURL"]
        r = api.get("/loyalty/settings/contact_info/join-qr.svg")
        assert r.status_code == 200, describe(r)
        assert r.headers["Content-Type"] == "image/svg+xml"
        assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert r.text.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "<script" not in r.text
        assert qrsvg.decode(r.text) == [url]
    assert_error(Session().get(jenv.url("/loyalty/settings/contact_info/join-qr.svg")), 401)


def test_join_page_is_a_form_without_script(jenv):
    path = join_path(jenv.a)
    r = Session().get(root(jenv) + path)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), describe(r)
    assert_style_allowed(r)
    page = r.text
    assert "<script" not in page.lower() and "Кофейня «Зерно»" in page and "--brand:#1e7f4f" in page
    assert f'<form class="fields" method="post" action="{path}">' in page
    for field in ("phone", "name", "email", "birthday", "consent"):
        assert f'id="{field}"' in page and f'name="{field}"' in page, field
    for field in ("phone", "name", "email", "birthday"):
        assert f'<label for="{field}">' in page, field
    assert f"<span data-consent-version>{CONSENT_VERSION}</span>" in page
    assert "152-ФЗ" in page and "Получить код по SMS" in page


def test_unknown_codes_are_404_pages(jenv):
    s = Session()
    for bad in ["0" * 16, "ABCDEF0123456789", "x" * 33, "not-a-code"]:
        for r in (s.get(f"{root(jenv)}/j/{bad}"), submit(jenv, f"/j/{bad}", form(new_phone())),
                  s.get(f"{root(jenv)}/j/{bad}/confirm", params={"t": "0" * 32}),
                  submit(jenv, f"/j/{bad}/confirm", {"t": "0" * 32, "code": "123456"})):
            assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html"), describe(r)
            assert_page_headers(r)
            assert "Такой страницы записи нет" in r.text


def test_an_inactive_program_takes_no_one(jenv, sms):
    path = join_path(jenv.b)  # B's program was never activated
    before = sms.count()
    for r in (Session().get(root(jenv) + path), submit(jenv, path, form(new_phone()))):
        assert r.status_code == 404, describe(r)
        assert_page_headers(r)
        assert "не принимает новых участников" in r.text
    assert sms.count() == before


# --- the whole flow ---------------------------------------------------------------------------

def test_join_confirm_and_land_on_the_card(jenv, sms):
    phone = new_phone()
    before_ms = int(time.time() * 1000)
    sent = sms.count()
    path, token = start(jenv, jenv.a, f"+{phone[0]} ({phone[1:4]}) {phone[4:7]}-{phone[7:9]}-{phone[9:]}",
                        name="Анна <b>", email="Anna@Example.COM", birthday="1990-02-28")
    assert sms.count() == sent + 1
    msg = sms.messages[-1]
    assert msg["phone"] == phone and msg["auth"] == f"Bearer {SMS_TOKEN}" and msg["ctype"] == "application/json"
    assert "Кофейня «Зерно»" in msg["text"]
    code = sms.last_code(phone)
    # The code's page: the phone masked, the token in the form.
    r = Session().get(root(jenv) + path, params={"t": token})
    assert r.status_code == 200, describe(r)
    assert_style_allowed(r)
    assert f"+{phone[0]}********{phone[-2:]}" in r.text and f'value="{token}"' in r.text
    assert 'autocomplete="one-time-code"' in r.text and "<script" not in r.text.lower()
    # The right code: the client is made, the card is next.
    r = confirm(jenv, path, token, code)
    assert r.status_code == 303, describe(r)
    assert_page_headers(r)
    card = r.headers["Location"]
    assert re.fullmatch(r"/c/[0-9a-f]{32}", card), card
    page = Session().get(root(jenv) + card)
    assert page.status_code == 200 and "Анна &lt;b&gt;" in page.text
    client = jenv.a.client(phone)
    assert client["cardURL"].endswith(card) and client["name"] == "Анна <b>"
    assert client["email"] == "Anna@Example.COM" and client["birthday"] == "1990-02-28"
    view = body_of(jenv.a.get(f"/clients/{client['id']}/"))
    assert view["consentVersion"] == CONSENT_VERSION
    assert before_ms <= view["consentDate"] <= int(time.time() * 1000) + 1000
    # Sent again (a double tap, the back button): the same card, nothing new.
    again = confirm(jenv, path, token, code)
    assert again.status_code == 303 and again.headers["Location"] == card
    r = Session().get(root(jenv) + path, params={"t": token}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == card
    assert len(body_of(jenv.a.get("/clients/", params={"phone": phone}))) == 1
    # The other merchant knows nothing of them.
    assert body_of(jenv.b.get("/clients/", params={"phone": phone})) == []


def test_a_client_made_by_the_api_has_no_consent(jenv):
    c = jenv.a.create_client(phone=new_phone())
    assert c["consentVersion"] is None and c["consentDate"] is None and c["birthday"] is None


def test_an_existing_phone_gets_the_consent_recorded(jenv, sms):
    phone = new_phone()
    old = jenv.a.create_client(phone=phone, name="Борис", email=f"b{phone}@example.com")
    path, token = start(jenv, jenv.a, phone, name="Другое имя", email="other@example.com", birthday="03.04.1985")
    r = confirm(jenv, path, token, sms.last_code(phone))
    assert r.status_code == 303 and r.headers["Location"] == f"/c/{old['token']}", describe(r)
    now = body_of(jenv.a.get(f"/clients/{old['id']}/"))
    # The POS's data stays; what the client did not hold is filled.
    assert now["name"] == "Борис" and now["email"] == old["email"] and now["birthday"] == "1985-04-03"
    assert now["consentVersion"] == CONSENT_VERSION and now["consentDate"] > 0
    assert len(body_of(jenv.a.get("/clients/", params={"phone": phone}))) == 1


def test_an_email_of_another_client_is_left_out(jenv, sms):
    taken = f"taken{new_phone()}@example.com"
    jenv.a.create_client(phone=new_phone(), email=taken)
    phone = new_phone()
    path, token = start(jenv, jenv.a, phone, email=taken.upper())
    assert confirm(jenv, path, token, sms.last_code(phone)).status_code == 303
    c = jenv.a.client(phone)
    assert c["email"] is None and c["consentVersion"] == CONSENT_VERSION


def test_joining_sends_the_client_webhooks(jenv, sms):
    """A new phone: client.created with the consent in the Client; a known one: client.updated."""
    from test_webhooks import Receiver, add_endpoint
    hooks = Receiver()
    try:
        ep = add_endpoint(jenv.a, hooks, events=["client.created", "client.updated"])
        phone = new_phone()
        path, token = start(jenv, jenv.a, phone, birthday="2001-01-01")
        assert confirm(jenv, path, token, sms.last_code(phone)).status_code == 303
        hooks.wait(lambda evs: any(e["type"] == "client.created" and e["data"]["phone"] == phone for e in evs))
        created = [e for e in hooks.of_type("client.created") if e["data"]["phone"] == phone][0]["data"]
        assert created["consentVersion"] == CONSENT_VERSION and created["birthday"] == "2001-01-01"
        path, token = start(jenv, jenv.a, phone)
        assert confirm(jenv, path, token, sms.last_code(phone)).status_code == 303
        hooks.wait(lambda evs: any(e["type"] == "client.updated" and e["data"]["phone"] == phone for e in evs))
        assert jenv.a.delete(f"/webhooks/{ep['id']}/").status_code < 300
    finally:
        hooks.close()
    assert not hooks.bad


# --- every field's bad input ------------------------------------------------------------------

BAD_FIELDS = [
    ("phone", {"phone": ""}, "Телефон: укажите номер"),
    ("phone", {"phone": "12345"}, "Телефон: номер из 11–15 цифр"),
    ("phone", {"phone": "7912345678901234"}, "Телефон: номер из 11–15 цифр"),
    ("phone", {"phone": "7912abc4567"}, "Телефон: номер из 11–15 цифр"),
    ("name", {"name": "Я" * 257}, "Имя: не длиннее 256 символов"),
    ("name", {"name": "a\x01b"}, "Имя: без управляющих символов"),
    ("email", {"email": "nope"}, "Email: адрес вида"),
    ("email", {"email": "a@b"}, "Email: адрес вида"),
    ("birthday", {"birthday": "2990-01-01"}, "Дата рождения: дата вида 31.12.1990, не позже сегодняшней"),
    ("birthday", {"birthday": "31.02.2000"}, "Дата рождения"),
    ("birthday", {"birthday": "1899-12-31"}, "Дата рождения"),
    ("birthday", {"birthday": "вчера"}, "Дата рождения"),
    ("consent", {"consent": False}, "Согласие: без согласия на обработку персональных данных"),
    ("consent", {"consent": "no"}, "Согласие:"),
]


@pytest.mark.parametrize("field,change,message", BAD_FIELDS,
                         ids=[f"{f}-{i}" for i, (f, _c, _m) in enumerate(BAD_FIELDS)])
def test_bad_fields_are_shown_beside_the_field(jenv, sms, field, change, message):
    phone = new_phone()
    data = form(phone, name="Вера", email="vera@example.com")
    data.update(change)
    data = {k: v for k, v in data.items() if v is not False}
    sent = sms.count()
    r = submit(jenv, join_path(jenv.a), data)
    assert r.status_code == 400, describe(r)
    assert_style_allowed(r)
    err = error_of(r, field)
    assert err is not None and message in err, (err, r.text[-2000:])
    assert f'aria-describedby="{field}-error"' in r.text
    # Only that field is wrong; what was typed is shown again (escaped).
    assert [f for f in ("phone", "name", "email", "birthday", "consent") if error_of(r, f)] == [field]
    if field != "phone":
        assert f'value="{phone}"' in r.text
    if field == "email":
        assert f'value="{change["email"]}"' in r.text
    assert sms.count() == sent


def test_typed_markup_comes_back_escaped(jenv):
    r = submit(jenv, join_path(jenv.a), {"phone": "1", "name": '"><script>alert(1)</script>', "consent": "yes"})
    assert r.status_code == 400
    assert "<script" not in r.text.lower() and 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in r.text


def test_the_form_must_be_form_encoded(jenv):
    path = join_path(jenv.a)
    r = Session().post(root(jenv) + path, json={"phone": new_phone(), "consent": "yes"})
    assert_error(r, 415, code="unsupported_media_type")
    assert_page_headers(r)
    r = Session().post(root(jenv) + path, data=b"phone=%zz&consent=yes",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False)
    assert r.status_code == 400 and error_of(r, "phone")


# --- the code: wrong, spent, late, from another merchant --------------------------------------

def test_wrong_codes_are_counted_and_limited(jenv, sms):
    phone = new_phone()
    path, token = start(jenv, jenv.a, phone)
    code = sms.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    # Not a code: said beside the field, not counted.
    for bad in ("12a456", "12345", ""):
        r = confirm(jenv, path, token, bad)
        assert r.status_code == 400 and error_of(r, "code") == "Код: 6 цифр из SMS.", describe(r)
    for left in (4, 3, 2, 1):
        r = confirm(jenv, path, token, wrong)
        assert r.status_code == 400, describe(r)
        assert error_of(r, "code") == f"Код: неверный. Осталось попыток: {left}."
    r = confirm(jenv, path, token, wrong)  # the 5th (--enrol-attempts default)
    assert r.status_code == 429 and "Слишком много попыток" in r.text, describe(r)
    r = confirm(jenv, path, token, code)  # the right one, too late
    assert r.status_code == 429, describe(r)
    assert body_of(jenv.a.get("/clients/", params={"phone": phone})) == []
    # A new code works.
    path, token = start(jenv, jenv.a, phone)
    assert confirm(jenv, path, token, sms.last_code(phone)).status_code == 303


def test_a_token_is_its_merchants_only(jenv, sms):
    phone = new_phone()
    path, token = start(jenv, jenv.a, phone)
    other = join_path(jenv.b) + "/confirm"
    r = confirm(jenv, other, token, sms.last_code(phone))
    assert r.status_code == 404, describe(r)
    for bad in ("0" * 32, "zz", ""):
        r = confirm(jenv, path, bad, "123456")
        assert r.status_code == 404 and "Заявка не найдена" in r.text, describe(r)
        r = Session().get(root(jenv) + path, params={"t": bad})
        assert r.status_code == 404, describe(r)
    assert confirm(jenv, path, token, sms.last_code(phone)).status_code == 303


# --- rate limits ------------------------------------------------------------------------------

def test_codes_per_phone_are_limited(jenv, sms):
    phone = new_phone()
    for _ in range(3):  # --enrol-phone-limit 3
        start(jenv, jenv.a, phone)
    sent = sms.count()
    r = submit(jenv, join_path(jenv.a), form(phone))
    assert r.status_code == 429 and r.headers["Retry-After"] == "3600", describe(r)
    assert_style_allowed(r)
    assert "На этот номер уже отправлено много кодов" in r.text
    assert sms.count() == sent
    start(jenv, jenv.a, new_phone())  # another phone still can


def test_codes_per_address_are_limited(make_env, sms):
    e = make_env(*flags(sms, "--enrol-addr-limit", "2"))
    e.a.settings(active=True)
    start(e, e.a, new_phone())
    start(e, e.a, new_phone())
    r = submit(e, join_path(e.a), form(new_phone()))
    assert r.status_code == 429 and "С этого устройства" in r.text, describe(r)


def test_a_failing_gateway_is_a_502_page(make_env, sms):
    e = make_env(*flags(sms))
    e.a.settings(active=True)
    sms.fail = True
    try:
        r = submit(e, join_path(e.a), form(new_phone()))
    finally:
        sms.fail = False
    assert r.status_code == 502 and "SMS не отправлено" in r.text, describe(r)
    assert_style_allowed(r)
    assert "the SMS gateway answered HTTP 500" in e.server.log_tail(20000)
    assert SMS_TOKEN not in e.server.log_tail(200000)


# --- the log gateway and expiry ---------------------------------------------------------------

def test_log_gateway_and_expiry(make_env):
    base = DEFAULT_SERVE_FLAGS + ("--enrol-code-ttl", "10m")
    e = make_env(*base)
    e.a.settings(active=True)

    def code_from_log(phone):
        found = re.findall(rf"sms: to {phone} text [^\"]*?(\d{{6}})", e.server.log_tail(200000))
        assert found, e.server.log_tail()
        return found[-1]

    phone = new_phone()
    path, token = start(e, e.a, phone)
    r = confirm(e, path, token, code_from_log(phone))
    assert r.status_code == 303, describe(r)
    assert body_of(e.a.get(f"/clients/{e.a.client(phone)['id']}/"))["consentVersion"] == "1"  # the default
    # Eleven minutes later the code is not taken.
    phone = new_phone()
    path, token = start(e, e.a, phone)
    code = code_from_log(phone)
    e.restart(*base[len(DEFAULT_SERVE_FLAGS):], "--clock-offset-seconds", "660")
    r = confirm(e, path, token, code)
    assert r.status_code == 410 and "Код устарел" in r.text, describe(r)
    assert body_of(e.a.get("/clients/", params={"phone": phone})) == []


def test_bad_settings_stop_the_server(tmp_path):
    from conftest import run_cli, init_merchant, OWNER_A
    db = str(tmp_path / "k.db")
    init_merchant(db, *OWNER_A)
    for extra, want in ((["--sms-gateway", "http"], "--sms-url"),
                        (["--consent-version", ""], "--consent-version"),
                        (["--consent-file", str(tmp_path / "missing.txt")], "--consent-file")):
        p = run_cli("serve", "--db", db, "--listen", "127.0.0.1:1", *extra, timeout=30)
        assert p.returncode == 2 and want in p.stderr, (extra, p.returncode, p.stderr)


def test_consent_file_is_shown(make_env, tmp_path):
    text = tmp_path / "consent.txt"
    text.write_text("Первый абзац согласия.\n\nВторой & последний.\n", encoding="utf-8")
    e = make_env(*DEFAULT_SERVE_FLAGS, "--consent-file", str(text), "--consent-version", "v7")
    e.a.settings(active=True)
    page = Session().get(root(e) + join_path(e.a)).text
    assert "<p>Первый абзац согласия.</p><p>Второй &amp; последний.</p>" in page
    assert "<span data-consent-version>v7</span>" in page
