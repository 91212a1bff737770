# Smaller defects of issue 12 B12: the public receipt page cannot be framed and runs nothing but
# its own style; links that people open (a client's avatarUrl, the contact info's url and social
# links) are absolute http(s) URLs, never javascript: or data:.
import base64
import hashlib
import re

import pytest

from conftest import Session, assert_error, body_of, new_phone, sale

BAD_URLS = ["javascript:alert(document.cookie)", "JavaScript:alert(1)", " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "file:///etc/passwd",
            "//evil.example/x", "/relative", "www.example.com", "http://bank.example@evil.example/",
            "http://exa mple.com/", "https://e.example/\"onmouseover=alert(1)"]
GOOD_URLS = ["https://example.com/a.png", "http://cafe.example:8080/x?y=1#z", "HTTPS://VK.COM/club1"]


def root(env):
    return env.base.replace("/ext/api/v1", "")


def csp_directives(value):
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in value.split(";")) if d}


def test_receipt_page_forbids_framing_and_foreign_content(env, A):
    o = A.order(sale(phone=new_phone()))
    token = o["publicURL"].rsplit("/", 1)[1]
    s = Session()
    page = s.get(f"{root(env)}/r/{token}")
    assert page.status_code == 200
    h = page.headers
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    csp = csp_directives(h["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert "script-src" not in csp and "'unsafe-inline'" not in h["Content-Security-Policy"]
    # the page's one inline style is allowed by its hash, so the page still looks as it should
    styles = re.findall(r"<style>(.*?)</style>", page.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert csp["style-src"] == [f"'sha256-{digest}'"]
    assert "<script" not in page.text and " style=" not in page.text
    # the form's redirect and the errors of /r/ carry the same headers
    r = s.post(f"{root(env)}/r/{token}", data={"reaction": "neutral"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    missing = s.get(f"{root(env)}/r/{'0' * 32}")
    assert missing.status_code == 404 and missing.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("url", BAD_URLS)
def test_avatar_url_must_be_http(A, url):
    phone = new_phone()
    assert_error(A.post("/clients/", {"phone": phone, "avatarUrl": url}), 400,
                 code="validation_failed", field="avatarUrl")
    assert body_of(A.get("/clients/", params={"phone": phone})) == []
    cid = A.create_client(phone=phone)["id"]
    assert_error(A.put(f"/clients/{cid}/", {"avatarUrl": url}), 400, code="validation_failed",
                 field="avatarUrl")
    assert body_of(A.get(f"/clients/{cid}/"))["avatarUrl"] is None


@pytest.mark.parametrize("url", GOOD_URLS)
def test_avatar_url_http_is_taken(A, url):
    cid = A.create_client(phone=new_phone(), avatarUrl=url)["id"]
    assert body_of(A.get(f"/clients/{cid}/"))["avatarUrl"] == url
    body_of(A.put(f"/clients/{cid}/", {"avatarUrl": ""}))


@pytest.mark.parametrize("field", ["url", "instagram", "facebook", "vk", "youtube"])
def test_contact_links_must_be_http(A, field):
    good = f"https://{field}.example/cafe"
    body_of(A.put("/loyalty/settings/contact_info/", {field: good}))
    for url in BAD_URLS:
        assert_error(A.put("/loyalty/settings/contact_info/", {field: url, "company": "X"}), 400,
                     code="validation_failed", field=field)
    info = body_of(A.get("/loyalty/settings/contact_info/"))
    assert info[field] == good and info["company"] != "X"
    for url in GOOD_URLS:
        assert body_of(A.put("/loyalty/settings/contact_info/", {field: url}))[field] == url
    # "" or null still clears it; company, phone and email are not links
    assert body_of(A.put("/loyalty/settings/contact_info/", {field: ""}))[field] is None
    body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кафе «Ромашка»", "phone": "+7 900 000-00-00"}))


# ---- B4: shared coupons do not multiply ----

SHARE = "/coupons/share/redeem/"


def usable(A, cid):
    return body_of(A.get(f"/clients/{cid}/coupons/"))


def test_two_phones_sharing_back_and_forth_get_one_extra_coupon(A):
    """The attack of issue 12 B4: phones P and Q pass each other's shares back and forth. Before
    the fix every redeem gave a new instance (7 usable after 6 redeems); now the original gives
    exactly one extra instance and a received instance's shares are refused."""
    cat = A.catalog_coupon(title="Free coffee")
    p_phone, q_phone = new_phone(), new_phone()
    p = A.create_client(phone=p_phone)["id"]
    q = A.create_client(phone=q_phone)["id"]
    A.issue(p, cat["id"])
    phones = {p: p_phone, q: q_phone}
    redeemed = 0
    for round_ in range(6):
        giver, taker = (p, q) if round_ % 2 == 0 else (q, p)
        for inst in usable(A, giver):
            for key in ("shareToken", "merchantShareToken"):
                r = A.put(SHARE, params={"token": inst[key], "phone": phones[taker]})
                if r.status_code == 200:
                    redeemed += 1
                else:
                    assert r.status_code == 409, r.text
    n = len(usable(A, p)) + len(usable(A, q))
    assert n == 2, f"{n} usable instances after {redeemed} redeems"
    assert len(usable(A, p)) == 1 and len(usable(A, q)) == 1
    # the received instance's share token names the rule; its own tokens still work for its owner
    received = usable(A, q)[0]
    for key in ("shareToken", "merchantShareToken"):
        assert_error(A.put(SHARE, params={"token": received[key], "phone": new_phone()}), 409,
                     code="coupon_not_shareable", field="token")
    found = body_of(A.get("/clients/coupons/", params={"type": "linked", "token": received["token"]}))
    assert found["client"]["id"] == q
    # and a third phone gets nothing from either
    r_phone = new_phone()
    for cid in (p, q):
        for inst in usable(A, cid):
            assert A.put(SHARE, params={"token": inst["shareToken"], "phone": r_phone}).status_code == 409
    assert body_of(A.get("/clients/", params={"phone": r_phone})) == []


# ---- C: the OpenAPI document as outside tools read it ----

def test_put_client_by_id_or_token_with_only_a_name(A):
    """GET and PUT share the path item /clients/{ref}/; PUT takes a partial body (docs/API.md's
    rename example, just a name), and a token names the client as well as an id."""
    cl = A.create_client(phone=new_phone(), name="Vera")
    assert body_of(A.put(f"/clients/{cl['id']}/", {"name": "Vera K."}))["name"] == "Vera K."
    got = body_of(A.put(f"/clients/{cl['token']}/", {"name": "Vera Kim"}))
    assert got["id"] == cl["id"] and got["name"] == "Vera Kim"
    assert_error(A.put(f"/clients/{'0' * 32}/", {"name": "x"}), 404)


def test_document_shapes_that_generators_accept():
    import openapi_check
    doc = openapi_check.DOC
    assert "/ext/api/v1/clients/{id}/" not in doc["paths"]
    item = doc["paths"]["/ext/api/v1/clients/{ref}/"]
    assert {"get", "put"} <= set(item)
    body = item["put"]["requestBody"]["content"]["application/json"]["schema"]
    update = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert "anyOf" not in update and "required" not in update
    balance = doc["components"]["schemas"]["Balance"]
    assert "prefixItems" not in balance and isinstance(balance["items"], dict)
    assert balance["minItems"] == balance["maxItems"] == 2
