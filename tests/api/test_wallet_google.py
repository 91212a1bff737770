"""The card page's "Add to Google Wallet" (issue 15): with --gwallet-issuer-id and
--gwallet-service-account the card links to /c/{token}/gwallet, which answers a 303 to
https://pay.google.com/gp/v/save/<JWT>. The JWT's RS256 signature is checked with the public half
of a key this test makes with openssl, and its claims against the API: the barcode is the
client's token, the balance the API's, the ids stable and not the token, the merchant's name and
colour. Without the settings there is no link and /gwallet is 404; bad settings stop start-up
with a message naming the setting (docs/CARD.md, "Google Wallet")."""
import base64
import json
import os
import re
import subprocess
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from conftest import (DEFAULT_SERVE_FLAGS, KOPILKAD, Env, Session, assert_error, body_of, database_for,
                      free_port, init_merchant, new_phone, rule, sale)
from test_card_page import assert_page_headers, assert_style_allowed
from test_uploads import LOGO, PNG, upload

ISSUER = "3388000000022212345"
EMAIL = "kopilka-wallet@kopilka-test.iam.gserviceaccount.com"
KEY_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
ORIGINS = "https://kopilka.example, http://127.0.0.1:8080"
SAVE = "https://pay.google.com/gp/v/save/"


def openssl(*args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def write_account(path, **fields):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fields, f)
    return str(path)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """An RSA key as Google gives one (PKCS #8 PEM in a service account's JSON key file), its
    public half, and an EC key kopilkad must refuse."""
    d = tmp_path_factory.mktemp("gwallet-keys")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(d / "key.pem"))
    openssl("pkey", "-in", str(d / "key.pem"), "-pubout", "-out", str(d / "pub.pem"))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(d / "ec.pem"))
    pem = (d / "key.pem").read_text()
    account = write_account(d / "account.json", type="service_account", project_id="kopilka-test",
                            private_key_id=KEY_ID, private_key=pem, client_email=EMAIL,
                            client_id="100000000000000000001")
    public = serialization.load_pem_public_key((d / "pub.pem").read_bytes())
    return {"dir": d, "account": account, "pem": pem, "ec": (d / "ec.pem").read_text(), "public": public}


@pytest.fixture(scope="module")
def genv(tmp_path_factory, engine, request, keys):
    tmp = tmp_path_factory.mktemp(f"kopilka-gwallet-{engine}")
    flags = DEFAULT_SERVE_FLAGS + ("--media-dir", os.path.join(str(tmp), "media"),
                                   "--gwallet-issuer-id", ISSUER, "--gwallet-service-account", keys["account"],
                                   "--gwallet-origins", ORIGINS)
    e = Env(tmp, flags=flags, db=database_for(engine, tmp, request), engine=engine)
    try:
        yield e
    finally:
        e.close()


def root(env):
    return env.base.replace("/ext/api/v1", "")


def b64url(part):
    assert "=" not in part and re.fullmatch(r"[A-Za-z0-9_-]+", part), part
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def save_link(env, token):
    """Follows the card's Google Wallet link: the 303's target."""
    r = Session().get(f"{root(env)}/c/{token}/gwallet", allow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text)
    assert_page_headers(r)
    return r.headers["Location"]


def verified_claims(keys, link):
    """The JWT of a save link, its RS256 signature checked with the public key: (header, claims)."""
    assert link.startswith(SAVE), link
    jwt = link[len(SAVE):]
    head, body, sig = jwt.split(".")
    try:
        keys["public"].verify(b64url(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        pytest.fail("the JWT's RS256 signature does not verify with the service account's public key")
    return json.loads(b64url(head)), json.loads(b64url(body))


def test_card_links_to_a_signed_save_link(genv, keys):
    A = genv.a
    body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кофейня «Зерно»", "brandColor": "#1e7f4f"}))
    logo = body_of(upload(A, LOGO, PNG, filename="logo.png", content_type="image/png"))["logoPath"]
    A.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
               newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    client = A.create_client(phone=phone, name="Анна")
    A.order(sale(phone=phone, items=[{"name": "Капучино", "price": 245, "quantity": 1}]))  # +24.5
    balance = A.balance(client["id"])
    assert balance == 24.5

    page = Session().get(f"{root(genv)}/c/{client['token']}")
    assert page.status_code == 200
    assert_style_allowed(page)  # the same strict policy: the link is a path of this origin
    hrefs = re.findall(r'<a class="button" data-gwallet href="([^"]*)"', page.text)
    assert hrefs == [f"/c/{client['token']}/gwallet"], page.text
    assert "Добавить в Google Wallet" in page.text

    before = int(time.time())
    header, claims = verified_claims(keys, save_link(genv, client["token"]))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
    assert claims["iss"] == EMAIL and claims["aud"] == "google" and claims["typ"] == "savetowallet"
    assert before - 5 <= claims["iat"] <= time.time() + 5
    assert claims["origins"] == ["https://kopilka.example", "http://127.0.0.1:8080"]
    assert set(claims["payload"]) == {"loyaltyClasses", "loyaltyObjects"}
    [cls], [obj] = claims["payload"]["loyaltyClasses"], claims["payload"]["loyaltyObjects"]
    assert cls["id"].startswith(ISSUER + ".") and obj["classId"] == cls["id"]
    assert cls["issuerName"] == "Кофейня «Зерно»" and cls["programName"] == "Кофейня «Зерно»"
    assert cls["hexBackgroundColor"] == "#1e7f4f" and cls["reviewStatus"] == "UNDER_REVIEW"
    # --public-url's default base and the logo's media path: a URL Google can fetch.
    assert cls["programLogo"] == {"sourceUri": {"uri": "http://127.0.0.1:8080" + logo}}
    assert obj["id"].startswith(ISSUER + ".") and client["token"] not in obj["id"]
    assert re.fullmatch(r"[0-9]+\.[A-Za-z0-9._-]+", obj["id"]), obj["id"]
    assert obj["state"] == "ACTIVE" and obj["accountId"] == str(client["id"]) and obj["accountName"] == "Анна"
    assert obj["barcode"] == {"type": "QR_CODE", "value": client["token"]}
    assert obj["loyaltyPoints"]["label"] == "Баллы"
    assert obj["loyaltyPoints"]["balance"] == {"string": f"{balance.normalize():f}"}

    # Signed at each request with the balance of the moment; the ids stay.
    A.order(sale(phone=phone, items=[{"name": "Круассан", "price": 120, "quantity": 1}]))  # +12
    balance2 = A.balance(client["id"])
    assert balance2 == 36.5
    _, again = verified_claims(keys, save_link(genv, client["token"]))
    [cls2], [obj2] = again["payload"]["loyaltyClasses"], again["payload"]["loyaltyObjects"]
    assert (cls2["id"], obj2["id"], obj2["classId"]) == (cls["id"], obj["id"], obj["classId"])
    assert obj2["loyaltyPoints"]["balance"] == {"string": f"{balance2.normalize():f}"}

    # Another client of the merchant: the same class, another object; another merchant: another class.
    other = A.create_client(phone=new_phone())
    _, c3 = verified_claims(keys, save_link(genv, other["token"]))
    [cls3], [obj3] = c3["payload"]["loyaltyClasses"], c3["payload"]["loyaltyObjects"]
    assert cls3["id"] == cls["id"] and obj3["id"] != obj["id"] and "accountName" not in obj3
    assert obj3["loyaltyPoints"]["balance"] == {"string": "0"}
    b_client = genv.b.create_client(phone=new_phone())
    _, c4 = verified_claims(keys, save_link(genv, b_client["token"]))
    [cls4] = c4["payload"]["loyaltyClasses"]
    assert cls4["id"] != cls["id"] and "programLogo" not in cls4
    assert cls4["hexBackgroundColor"] == "#27272a"  # the pages' default colour


def test_gwallet_unknown_token_is_404(genv):
    s = Session()
    for bad in ["0" * 32, "not-a-token", "A" * 32, "0" * 31]:
        r = s.get(f"{root(genv)}/c/{bad}/gwallet", allow_redirects=False)
        assert_error(r, 404, "not_found")
        assert_page_headers(r)
    order = genv.a.order(sale(phone=new_phone()))
    order_token = order["publicURL"].rsplit("/", 1)[1]
    assert_error(s.get(f"{root(genv)}/c/{order_token}/gwallet", allow_redirects=False), 404, "not_found")


def test_not_configured_no_link_and_404(env, A):
    client = A.create_client(phone=new_phone())
    page = Session().get(f"{root(env)}/c/{client['token']}")
    assert page.status_code == 200 and "data-gwallet" not in page.text and "Google Wallet" not in page.text
    r = Session().get(f"{root(env)}/c/{client['token']}/gwallet", allow_redirects=False)
    body = assert_error(r, 404, "not_found")
    assert "Google Wallet is not configured" in body["message"]
    assert_page_headers(r)


def serve_refused(db, *flags):
    """kopilkad serve with these settings: (exit code, stderr); it must not start."""
    p = subprocess.run([KOPILKAD, "serve", "--db", db, "--listen", f"127.0.0.1:{free_port()}", *flags],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    return p.returncode, p.stderr


def test_bad_settings_stop_startup(tmp_path, keys):
    db = str(tmp_path / "kopilka.db")
    init_merchant(db, "owner@gw.test", "password-1", name="M")
    d = tmp_path
    no_key = write_account(d / "no-key.json", client_email=EMAIL, private_key_id=KEY_ID)
    ec_key = write_account(d / "ec.json", client_email=EMAIL, private_key_id=KEY_ID, private_key=keys["ec"])
    not_pem = write_account(d / "not-pem.json", client_email=EMAIL, private_key_id=KEY_ID, private_key="secret")
    no_kid = write_account(d / "no-kid.json", client_email=EMAIL, private_key=keys["pem"])
    (d / "broken.json").write_text("{\"client_email\": ")
    (d / "array.json").write_text("[]")
    good = keys["account"]
    cases = [
        (["--gwallet-issuer-id", ISSUER], "--gwallet-service-account is required"),
        (["--gwallet-service-account", good], "--gwallet-issuer-id is required"),
        (["--gwallet-issuer-id", "abc", "--gwallet-service-account", good], "--gwallet-issuer-id must be"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", str(d / "missing.json")],
         "--gwallet-service-account: cannot read"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", str(d / "broken.json")],
         "is not JSON"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", str(d / "array.json")],
         "is not a JSON object"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", no_key], "no \"private_key\""),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", no_kid], "no \"private_key_id\""),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", ec_key], "not an RSA private key"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", not_pem], "not an RSA private key"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", good, "--gwallet-origins", "kopilka.example"],
         "--gwallet-origins"),
        (["--gwallet-issuer-id", ISSUER, "--gwallet-service-account", good, "--gwallet-origins",
          "https://kopilka.example/path"], "--gwallet-origins"),
    ]
    for flags, said in cases:
        rc, err = serve_refused(db, *flags)
        assert rc == 2 and said in err, (flags, rc, err)
        assert keys["pem"].splitlines()[1] not in err  # the key never reaches a message
    # The environment variables are the same settings.
    p = subprocess.run([KOPILKAD, "serve", "--db", db, "--listen", f"127.0.0.1:{free_port()}"],
                       env={**os.environ, "KOPILKA_GWALLET_ISSUER_ID": ISSUER,
                            "KOPILKA_GWALLET_SERVICE_ACCOUNT": ec_key},
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "not an RSA private key" in p.stderr, p.stderr
