"""The customer's card as an Apple Wallet pass, GET /c/{token}/pass.pkpass (issue 15): a throw-away
CA, a WWDR stand-in it issues and a Pass Type ID certificate the stand-in issues are made with
the openssl command; kopilkad signs with them. The pass is unzipped with Python's zipfile (which
checks every CRC), manifest.json must hold the SHA-1 of every other file, pass.json the card's
balance, coupons, colours and token, and `openssl smime -verify` must accept the signature.
Refusals: an unknown token, a server without the settings, settings that do not fit together."""
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import zipfile
import zlib

import pytest

from conftest import DEFAULT_SERVE_FLAGS, KOPILKAD, Session, assert_error, body_of, new_phone, rule, run_cli, sale

PASS_TYPE_ID = "pass.local.kopilka.test"
TEAM_ID = "TEAM123456"


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(args)}:\n{p.stderr}"
    return p


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """ca.pem; wwdr.pem (an intermediate CA the root issued, standing in for Apple's WWDR);
    pass.pem and pass.key (the Pass Type ID certificate WWDR issued); other.key (a key of no
    certificate). Paths by name."""
    d = str(tmp_path_factory.mktemp("wallet-certs"))
    with open(os.path.join(d, "ca.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=kopilka test root", cwd=d)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "wwdr.key", "-out", "wwdr.csr",
            "-subj", "/CN=WWDR stand-in/O=kopilka test", cwd=d)
    openssl("x509", "-req", "-in", "wwdr.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "ca.ext", "-out", "wwdr.pem", cwd=d)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "pass.key", "-out", "pass.csr",
            "-subj", f"/UID={PASS_TYPE_ID}/CN=Pass Type ID: {PASS_TYPE_ID}/OU={TEAM_ID}", cwd=d)
    openssl("x509", "-req", "-in", "pass.csr", "-CA", "wwdr.pem", "-CAkey", "wwdr.key", "-CAcreateserial",
            "-days", "2", "-extfile", "leaf.ext", "-out", "pass.pem", cwd=d)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "other.key", cwd=d)
    with open(os.path.join(d, "notpem.txt"), "w") as f:
        f.write("not a certificate\n")
    return {n: os.path.join(d, n) for n in ("ca.pem", "wwdr.pem", "pass.pem", "pass.key", "other.key",
                                             "notpem.txt")} | {"dir": d}


def wallet_flags(certs, **override):
    values = {"--wallet-pass-type-id": PASS_TYPE_ID, "--wallet-team-id": TEAM_ID,
              "--wallet-cert": certs["pass.pem"], "--wallet-key": certs["pass.key"],
              "--wallet-wwdr": certs["wwdr.pem"]}
    values.update(override)
    out = []
    for flag, v in values.items():
        if v is not None:
            out += [flag, v]
    return tuple(out)


def root(env):
    return env.base.replace("/ext/api/v1", "")


def png(width, height, rgb=(200, 30, 30)):
    """A small valid PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def download(env, token):
    r = Session().get(f"{root(env)}/c/{token}/pass.pkpass")  # public: no credentials
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/vnd.apple.pkpass"
    assert r.headers["Cache-Control"] == "no-store"
    return r.content


def unpack(data, certs, tmp_path):
    """The pass's files by name, after checking the archive, the manifest and the signature."""
    z = zipfile.ZipFile(io.BytesIO(data))
    assert z.testzip() is None  # every CRC-32 right
    names = z.namelist()
    assert sorted(names) == ["icon.png", "logo.png", "manifest.json", "pass.json", "signature"]
    assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
    files = {n: z.read(n) for n in names}
    manifest = json.loads(files["manifest.json"])
    assert sorted(manifest) == ["icon.png", "logo.png", "pass.json"]
    for name, digest in manifest.items():
        assert digest == hashlib.sha1(files[name]).hexdigest(), name
    d = tmp_path / f"pass-{hashlib.sha1(data).hexdigest()[:8]}"
    d.mkdir()
    for n, content in files.items():
        (d / n).write_bytes(content)
    p = subprocess.run(["openssl", "smime", "-verify", "-binary", "-inform", "der", "-content", "manifest.json",
                        "-CAfile", certs["ca.pem"], "-in", "signature", "-purpose", "any", "-out", os.devnull],
                       cwd=str(d), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "Verification successful" in p.stderr, p.stderr
    # The WWDR certificate travels in the signature (the verification above had only the root).
    p = subprocess.run(["openssl", "pkcs7", "-inform", "der", "-in", "signature", "-print_certs", "-noout"],
                       cwd=str(d), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "WWDR stand-in" in p.stdout and PASS_TYPE_ID in p.stdout, p.stdout
    # A manifest changed by one byte is refused.
    (d / "manifest.json").write_bytes(files["manifest.json"].replace(b"pass.json", b"pass.jsoN"))
    p = subprocess.run(["openssl", "smime", "-verify", "-binary", "-inform", "der", "-content", "manifest.json",
                        "-CAfile", certs["ca.pem"], "-in", "signature", "-purpose", "any", "-out", os.devnull],
                       cwd=str(d), capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    return files


def fields(section):
    return {f["key"]: f for f in section}


def test_pass_of_a_card(make_env, certs, tmp_path):
    # The logo goes to a media directory of the test's (PostgreSQL's default is ./media).
    media = tmp_path / "media"
    env = make_env(*DEFAULT_SERVE_FLAGS, *wallet_flags(certs), "--media-dir", str(media))
    A = env.a
    body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кофейня «Зерно»", "brandColor": "#1e7f4f"}))
    A.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
               newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    client = A.create_client(phone=phone, name="Анна")
    A.order(sale(phone=phone, items=[{"name": "Капучино", "price": 250, "quantity": 3}]))  # +75
    A.order(sale(phone=phone, items=[{"name": "Круассан", "price": 120, "quantity": 1}], amount=12.5,
                 currency="points"))
    coupon = A.catalog_coupon(title="Кофе в подарок", validDays=30)
    A.issue(client["id"], coupon["id"])
    A.issue(client["id"], coupon["id"])
    balance = A.balance(client["id"])
    assert balance > 0

    files = unpack(download(env, client["token"]), certs, tmp_path)
    p = json.loads(files["pass.json"])
    assert p["formatVersion"] == 1
    assert p["passTypeIdentifier"] == PASS_TYPE_ID and p["teamIdentifier"] == TEAM_ID
    assert p["organizationName"] == "Кофейня «Зерно»" and p["logoText"] == "Кофейня «Зерно»"
    assert p["description"]
    # The serial is stable, not the token, and another client's differs.
    assert p["serialNumber"] == f"{env.merchant_a}-{client['id']}"
    assert client["token"] not in p["serialNumber"]
    assert p["backgroundColor"] == "rgb(30, 127, 79)"
    assert p["foregroundColor"] == "rgb(255, 255, 255)"  # white on a dark brand, as on the page
    assert re.fullmatch(r"rgb\(\d{1,3}, \d{1,3}, \d{1,3}\)", p["labelColor"])
    card = p["storeCard"]
    primary = fields(card["primaryFields"])
    assert primary["points"]["value"] == f"{balance.normalize():f}"
    secondary = fields(card["secondaryFields"])
    assert secondary["rubles"]["value"] == "0"
    assert secondary["coupons"]["value"] == 2
    back = fields(card["backFields"])
    assert back["card"]["value"] == client["cardURL"]
    assert p["barcodes"] == [{"format": "PKBarcodeFormatQR", "message": client["token"],
                              "messageEncoding": "iso-8859-1", "altText": client["token"]}]
    assert "webServiceURL" not in p  # an http --public-url: no update web service (test_wallet_passkit.py)
    # No PNG logo: the default icon, a valid PNG, as icon and logo.
    assert files["icon.png"].startswith(b"\x89PNG\r\n\x1a\n") and files["logo.png"] == files["icon.png"]

    # The card page links to the pass; the link keeps the strict policy (a path of this origin).
    r = Session().get(f"{root(env)}/c/{client['token']}")
    assert f'href="/c/{client["token"]}/pass.pkpass"' in r.text and "Apple Wallet" in r.text
    assert "script-src" not in r.headers["Content-Security-Policy"]

    # A sale later: the next download shows the new balance under the same serial.
    A.order(sale(phone=phone, items=[{"name": "Капучино", "price": 100, "quantity": 1}]))
    p2 = json.loads(unpack(download(env, client["token"]), certs, tmp_path)["pass.json"])
    assert fields(p2["storeCard"]["primaryFields"])["points"]["value"] == f"{A.balance(client['id']).normalize():f}"
    assert p2["serialNumber"] == p["serialNumber"]

    # The merchant's PNG logo becomes the icon and the logo; a light colour gets black text.
    logo = png(40, 20)
    r = A.s.post(A.url("/loyalty/settings/contact_info/logo/"), files={"logo": ("logo.png", logo, "image/png")})
    body_of(r)
    body_of(A.put("/loyalty/settings/contact_info/", {"brandColor": "#ffeeaa"}))
    files = unpack(download(env, client["token"]), certs, tmp_path)
    assert files["icon.png"] == logo and files["logo.png"] == logo
    p3 = json.loads(files["pass.json"])
    assert p3["backgroundColor"] == "rgb(255, 238, 170)" and p3["foregroundColor"] == "rgb(0, 0, 0)"

    # Merchant B's client: its own merchant's pass, another serial.
    other = env.b.create_client(phone=new_phone())
    p4 = json.loads(unpack(download(env, other["token"]), certs, tmp_path)["pass.json"])
    assert p4["serialNumber"] == f"{env.merchant_b}-{other['id']}"
    assert p4["barcodes"][0]["message"] == other["token"]
    assert fields(p4["storeCard"]["primaryFields"])["points"]["value"] == "0"

    # The longest company name, of 4-byte characters, is carried whole (never cut mid-character).
    longest = "\U0001F600" * 256
    body_of(A.put("/loyalty/settings/contact_info/", {"company": longest}))
    p5 = json.loads(unpack(download(env, client["token"]), certs, tmp_path)["pass.json"])
    assert p5["organizationName"] == longest and p5["description"].endswith(longest)


def test_unknown_cards_are_404(make_env, certs):
    env = make_env(*DEFAULT_SERVE_FLAGS, *wallet_flags(certs))
    s = Session()
    for segment in ("0" * 32, "1", "not-a-token", "A" * 32):
        r = s.get(f"{root(env)}/c/{segment}/pass.pkpass")
        assert_error(r, 404, code="not_found")
    # The handler's own answers carry the card page's headers (the router refuses a segment
    # that is neither a token nor a number before the handler runs).
    for segment in ("0" * 32, "1"):
        r = s.get(f"{root(env)}/c/{segment}/pass.pkpass")
        assert r.headers["Cache-Control"] == "no-store" and r.headers["Referrer-Policy"] == "no-referrer"
    # Another merchant's object tokens name no card: only a client token does.
    A = env.a
    phone = new_phone()
    A.create_client(phone=phone)
    order = A.order(sale(phone=phone))
    order_token = order["publicURL"].rsplit("/", 1)[1]
    assert_error(s.get(f"{root(env)}/c/{order_token}/pass.pkpass"), 404, code="not_found")


def test_without_settings_there_are_no_passes(env, A):
    client = A.create_client(phone=new_phone())
    r = Session().get(f"{root(env)}/c/{client['token']}/pass.pkpass")
    body = assert_error(r, 404, code="not_found")
    assert "Wallet passes are not configured" in body["message"]
    page = Session().get(f"{root(env)}/c/{client['token']}").text
    assert "pass.pkpass" not in page and "Apple Wallet" not in page


def serve_refusal(env, flags):
    p = run_cli("serve", "--db", env.db, "--listen", "127.0.0.1:1", *flags, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    return p.stderr


def test_settings_that_do_not_fit_stop_the_server(env, certs):
    err = serve_refusal(env, wallet_flags(certs, **{"--wallet-key": certs["other.key"]}))
    assert "--wallet-key" in err and "not the private key" in err, err
    err = serve_refusal(env, wallet_flags(certs, **{"--wallet-wwdr": None}))
    assert "--wallet-wwdr" in err and "not at all" in err, err
    err = serve_refusal(env, wallet_flags(certs, **{"--wallet-cert": certs["notpem.txt"]}))
    assert "--wallet-cert" in err and "not a PEM certificate" in err, err
    err = serve_refusal(env, wallet_flags(certs, **{"--wallet-wwdr": certs["dir"] + "/missing.pem"}))
    assert "--wallet-wwdr" in err and "cannot read" in err, err
    err = serve_refusal(env, wallet_flags(certs, **{"--wallet-key": certs["pass.pem"]}))
    assert "--wallet-key" in err and "not a PEM private key" in err, err
    # The environment variables work the same way.
    p = subprocess.run([KOPILKAD, "serve", "--db", env.db, "--listen", "127.0.0.1:1"],
                       env={**os.environ, "KOPILKA_WALLET_PASS_TYPE_ID": PASS_TYPE_ID},
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "--wallet-team-id" in p.stderr, p.stderr
