"""Image uploads (API.md 4.4): the contact info's logo and a catalog coupon's image, sent as
multipart/form-data, checked by content, written to the media directory and served back
publicly byte for byte; replaced and deleted files leave the directory; roles, tenancy,
Idempotency-Key, malformed bodies and path traversal on the media route."""
import http.client
import os
import re
import struct
import zlib

import pytest

from conftest import (DEFAULT_SERVE_FLAGS, Env, Session, assert_error, body_of, database_for,
                      run_cli, uniq)

LOGO = "/loyalty/settings/contact_info/logo/"
MEDIA_PATH = re.compile(r"^/ext/api/v1/media/([0-9a-f]{32})\.(png|jpg|webp)$")
FILE_MAX = 2 * 1024 * 1024


def png_image(extra=b""):
    """A real 1x1 PNG (signature, IHDR, IDAT, IEND), then `extra` bytes after IEND."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b"") + extra)


PNG = png_image()
# JPEG: APP0 (JFIF), a baseline frame of 1 x 1 (SOF0: precision, height, width, components),
# then opaque bytes; WebP: a lossless 1 x 1 header (0x2f, then width-1 and height-1).
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00" + bytes(range(256)) + b"\xff\xd9")
WEBP = b"RIFF" + struct.pack("<I", 4 + 8 + 14) + b"WEBP" + b"VP8L" + struct.pack("<I", 14) + b"\x2f" + bytes(13)
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
TYPES = {"png": (PNG, "image/png"), "jpg": (JPEG, "image/jpeg"), "webp": (WEBP, "image/webp")}


@pytest.fixture(scope="module")
def env(tmp_path_factory, engine, request):
    """The suite's usual environment, with the media directory known: on SQLite the default
    (media/ beside the database file), on PostgreSQL one given by --media-dir."""
    tmp = tmp_path_factory.mktemp(f"kopilka-uploads-{engine}")
    flags = DEFAULT_SERVE_FLAGS
    media = os.path.join(str(tmp), "media")
    if engine == "postgres":
        media = os.path.join(str(tmp), "uploaded-images")
        flags = flags + ("--media-dir", media)
    e = Env(tmp, flags=flags, db=database_for(engine, tmp, request), engine=engine)
    e.media_dir = media
    try:
        yield e
    finally:
        e.close()


def stored(env):
    """The files in the media directory (none while nothing was ever uploaded)."""
    if not os.path.isdir(env.media_dir):
        return set()
    return set(os.listdir(env.media_dir))


def name_of(path):
    m = MEDIA_PATH.match(path or "")
    assert m, f"not a media path: {path!r}"
    return f"{m.group(1)}.{m.group(2)}"


def upload(api, path, data, field="logo", filename="image.bin", content_type="application/octet-stream",
           **kw):
    return api.post(path, files={field: (filename, data, content_type)}, **kw)


def raw_post(api, path, body, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    return api.s.post(api.url(path), data=body, headers=headers)


def fetch(env, media_path):
    """GET of a media path without credentials."""
    return Session().get(env.base.replace("/ext/api/v1", "") + media_path)


def raw_get(env, target):
    """GET of a request target sent exactly as written (no client-side normalization of dot
    segments or escapes): status and body."""
    conn = http.client.HTTPConnection("127.0.0.1", env.server.port, timeout=30)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Content-Type")
    finally:
        conn.close()


def staff(A, role):
    body = {"email": f"{uniq(role)}@example.com", "password": "staff-pass-1", "role": role}
    body_of(A.post("/employees/", body), 201)
    return Session((body["email"], body["password"]))


# ---------------------------------------------------------------------------------------------
# The logo

@pytest.mark.parametrize("ext", ["png", "jpg", "webp"])
def test_upload_each_type_and_fetch_it_back(env, A, ext):
    data, ctype = TYPES[ext]
    before = stored(env)
    info = body_of(upload(A, LOGO, data, filename=f"logo.{ext}", content_type=ctype))
    assert set(info) == {"company", "phone", "email", "url", "instagram", "facebook", "vk", "youtube",
                         "logoPath", "brandColor", "joinURL"}
    name = name_of(info["logoPath"])
    assert name.endswith("." + ext)
    assert body_of(A.get("/loyalty/settings/contact_info/"))["logoPath"] == info["logoPath"]
    r = fetch(env, info["logoPath"])  # public: no credentials
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["Content-Type"] == ctype
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    head = Session().head(env.base.replace("/ext/api/v1", "") + info["logoPath"])
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == ctype and int(head.headers["Content-Length"]) == len(data)
    # on disk: exactly these bytes under that name, no temporary file left
    with open(os.path.join(env.media_dir, name), "rb") as f:
        assert f.read() == data
    assert not [n for n in stored(env) if n.startswith(".")]
    assert name in stored(env) - before


def test_type_is_judged_by_content_not_name_or_declared_type(env, A):
    info = body_of(upload(A, LOGO, PNG, filename="photo.gif", content_type="text/plain"))
    assert name_of(info["logoPath"]).endswith(".png")
    assert fetch(env, info["logoPath"]).headers["Content-Type"] == "image/png"
    info = body_of(upload(A, LOGO, JPEG, filename="noext"))
    assert name_of(info["logoPath"]).endswith(".jpg")


@pytest.mark.parametrize("data,filename,ctype", [
    (GIF, "logo.gif", "image/gif"),
    (GIF, "logo.png", "image/png"),  # a GIF renamed: still a GIF
    (b"just some text, not an image\n", "logo.png", "image/png"),
    (b"", "logo.png", "image/png"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg", "image/svg+xml"),
    (PNG[:12], "logo.png", "image/png"),  # a cut signature
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00", "logo.webp", "image/webp"),
], ids=["gif", "renamed-gif", "text", "empty", "svg", "cut-png", "riff-wave"])
def test_non_images_are_400_and_change_nothing(env, A, data, filename, ctype):
    current = body_of(A.get("/loyalty/settings/contact_info/"))
    before = stored(env)
    r = upload(A, LOGO, data, filename=filename, content_type=ctype)
    body = assert_error(r, 400, code="validation_failed", field="logo")
    assert "PNG, JPEG or WebP" in body["message"]
    if not data:
        assert "empty" in body["message"]
    assert body_of(A.get("/loyalty/settings/contact_info/")) == current
    assert stored(env) == before


def test_size_limit_is_2_mib_of_file(env, A):
    before = stored(env)
    too_big = png_image(b"\x00" * (FILE_MAX + 1 - len(PNG)))
    assert len(too_big) == FILE_MAX + 1
    assert_error(upload(A, LOGO, too_big), 413, code="payload_too_large", field="logo")
    # far over: the body itself is over the route's limit; still named
    huge = png_image(b"\x00" * (3 * 1024 * 1024))
    assert_error(upload(A, LOGO, huge), 413, code="payload_too_large", field="logo")
    assert stored(env) == before
    exactly = png_image(b"\x5a" * (FILE_MAX - len(PNG)))
    assert len(exactly) == FILE_MAX
    info = body_of(upload(A, LOGO, exactly))
    assert fetch(env, info["logoPath"]).content == exactly
    # the JSON routes keep their 1 MiB limit
    big_json = b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert_error(raw_post(A, "/clients/", big_json, "application/json"), 413, code="payload_too_large")


def multipart(boundary, *parts, close=True, eol=b"\r\n"):
    """A multipart body by hand: parts are (headers, content)."""
    out = b""
    for headers, content in parts:
        out += b"--" + boundary + eol + b"".join(h + eol for h in headers) + eol + content + eol
    if close:
        out += b"--" + boundary + b"--" + eol
    return out


def logo_part(data=PNG, name=b"logo"):
    return ([b'Content-Disposition: form-data; name="' + name + b'"; filename="l.png"',
             b"Content-Type: image/png"], data)


def test_content_type_must_be_multipart_form_data(env, A):
    body = multipart(b"xyz", logo_part())
    for ctype in ("application/json", "image/png", "multipart/mixed; boundary=xyz", "text/plain", None):
        r = raw_post(A, LOGO, body, ctype)
        assert_error(r, 415, code="unsupported_media_type")
    r = A.post(LOGO, {"logo": "data"})  # JSON
    assert_error(r, 415, code="unsupported_media_type")


@pytest.mark.parametrize("ctype,body,rule", [
    ("multipart/form-data", multipart(b"xyz", logo_part()), "boundary"),
    ("multipart/form-data; boundary=", multipart(b"xyz", logo_part()), "boundary"),
    ("multipart/form-data; boundary=\"unterminated", multipart(b"xyz", logo_part()), "boundary"),
    ("multipart/form-data; boundary=" + "b" * 71, multipart(b"b" * 71, logo_part()), "boundary"),
    ("multipart/form-data; boundary=other", multipart(b"xyz", logo_part()), "malformed"),
    ("multipart/form-data; boundary=xyz", multipart(b"xyz", logo_part(), close=False)[:-2], "truncated"),
    ("multipart/form-data; boundary=xyz", multipart(b"xyz", logo_part())[:60], "truncated"),
    ("multipart/form-data; boundary=xyz", multipart(b"xyz", logo_part(), eol=b"\n"), "malformed"),
    ("multipart/form-data; boundary=xyz", b"", "malformed"),
    ("multipart/form-data; boundary=xyz",
     multipart(b"xyz", ([b"Content-Type: image/png"], PNG)), "Content-Disposition"),
    ("multipart/form-data; boundary=xyz", multipart(b"xyz", ([b"Content-Disposition: form-data; name=title"], b"t")),
     "is required"),
    ("multipart/form-data; boundary=xyz", multipart(b"xyz", logo_part(), logo_part()), "once"),
], ids=["no-boundary", "empty-boundary", "unterminated-quote", "boundary-71", "other-boundary",
        "no-closing", "cut", "bare-lf", "empty-body", "no-disposition", "no-logo-part", "twice"])
def test_bad_multipart_is_400_naming_the_field(env, A, ctype, body, rule):
    before = stored(env)
    r = raw_post(A, LOGO, body, ctype)
    err = assert_error(r, 400, code="validation_failed", field="logo")
    assert rule in err["message"], err["message"]
    assert stored(env) == before


def test_multipart_as_clients_write_it(env, A):
    # other parts before and after are ignored; a quoted boundary with spaces and colons
    boundary = b"a quoted: boundary?"
    body = multipart(boundary,
                     ([b"Content-Disposition: form-data; name=title"], b"ignored"),
                     logo_part(WEBP),
                     ([b'content-disposition: form-data; name="logo2"; filename="x.png"'], GIF))
    r = raw_post(A, LOGO, b"a preamble line\r\n" + body + b"an epilogue", 
                 'Multipart/Form-Data; charset=utf-8; boundary="a quoted: boundary?"')
    info = body_of(r)
    assert fetch(env, info["logoPath"]).content == WEBP


def test_replace_and_delete(env, A, B):
    first = body_of(upload(A, LOGO, PNG))["logoPath"]
    assert name_of(first) in stored(env)
    second = body_of(upload(A, LOGO, JPEG))["logoPath"]
    assert second != first
    assert name_of(first) not in stored(env), "the replaced logo must leave the directory"
    assert name_of(second) in stored(env)
    assert_error(fetch(env, first), 404, code="not_found")
    # a PUT of the contact info keeps the logo; B's contact info never shows it
    got = body_of(A.put("/loyalty/settings/contact_info/", {"company": "Logo Inc", "logoPath": None}))
    assert got["logoPath"] == second and got["company"] == "Logo Inc"
    assert body_of(B.get("/loyalty/settings/contact_info/"))["logoPath"] is None
    # B removing its (absent) logo does not touch A's
    assert body_of(B.delete(LOGO))["logoPath"] is None
    assert name_of(second) in stored(env)
    gone = body_of(A.delete(LOGO))
    assert gone["logoPath"] is None and gone["company"] == "Logo Inc"
    assert name_of(second) not in stored(env)
    assert_error(fetch(env, second), 404, code="not_found")
    # deleting again: the same answer, nothing changes
    again = A.delete(LOGO)
    assert body_of(again) == gone
    assert body_of(A.get("/loyalty/settings/contact_info/")) == gone


# ---------------------------------------------------------------------------------------------
# A catalog coupon's image

def test_coupon_image(env, A, B):
    cat = A.catalog_coupon(title="With image")
    url = f"/loyalty/coupons/{cat['id']}/image/"
    got = body_of(upload(A, url, WEBP, field="image", filename="c.webp", content_type="image/webp"))
    assert got["id"] == cat["id"] and got["title"] == "With image"
    first = got["imagePath"]
    assert name_of(first).endswith(".webp")
    assert body_of(A.get(f"/loyalty/coupons/{cat['id']}/"))["imagePath"] == first
    assert {c["id"]: c["imagePath"] for c in body_of(A.get("/loyalty/coupons/"))}[cat["id"]] == first
    assert fetch(env, first).content == WEBP
    # the field is `image`: `logo` is not it
    assert_error(upload(A, url, PNG, field="logo"), 400, code="validation_failed", field="image")
    assert_error(upload(A, url, GIF, field="image"), 400, code="validation_failed", field="image")
    # a PUT keeps it; a replacement removes the old file
    assert body_of(A.put(f"/loyalty/coupons/{cat['id']}/", {"subHeader": "S"}))["imagePath"] == first
    second = body_of(upload(A, url, PNG, field="image"))["imagePath"]
    assert name_of(first) not in stored(env) and name_of(second) in stored(env)
    # another merchant's coupon answers exactly like an unknown one, and changes nothing
    before = stored(env)
    mine = assert_error(upload(B, url, JPEG, field="image"), 404, code="not_found")
    unknown = assert_error(upload(B, "/loyalty/coupons/999999999/image/", JPEG, field="image"), 404,
                           code="not_found")
    assert mine["message"].replace(str(cat["id"]), "N") == unknown["message"].replace("999999999", "N")
    assert_error(B.delete(url), 404, code="not_found")
    assert_error(A.delete("/loyalty/coupons/999999999/image/"), 404, code="not_found")
    assert stored(env) == before
    assert body_of(A.get(f"/loyalty/coupons/{cat['id']}/"))["imagePath"] == second
    # delete, twice
    gone = body_of(A.delete(url))
    assert gone["imagePath"] is None and gone["subHeader"] == "S"
    assert name_of(second) not in stored(env)
    assert body_of(A.delete(url)) == gone
    # a deleted catalog coupon may still get an image
    assert body_of(A.delete(f"/loyalty/coupons/{cat['id']}/"))["deleted"] is True
    got = body_of(upload(A, url, JPEG, field="image"))
    assert got["deleted"] is True and name_of(got["imagePath"]).endswith(".jpg")


# ---------------------------------------------------------------------------------------------
# Roles, authentication, idempotency

def test_roles_and_auth(env, A):
    cat = A.catalog_coupon()
    image = f"/loyalty/coupons/{cat['id']}/image/"
    cashier, manager, nobody = staff(A, "cashier"), staff(A, "manager"), Session()
    before = stored(env)
    for path, field in ((LOGO, "logo"), (image, "image")):
        url = env.url(path)
        assert_error(cashier.post(url, files={field: ("x.png", PNG, "image/png")}), 403, code="forbidden")
        assert_error(cashier.delete(url), 403, code="forbidden")
        r = nobody.post(url, files={field: ("x.png", PNG, "image/png")})
        assert_error(r, 401, code="unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Basic")
        assert_error(nobody.delete(url), 401, code="unauthorized")
        assert_error(Session(("a@example.com", "wrong-password")).delete(url), 401)
    assert stored(env) == before
    for path, field in ((LOGO, "logo"), (image, "image")):
        got = body_of(manager.post(env.url(path), files={field: ("x.png", PNG, "image/png")}))
        assert fetch(env, got.get("logoPath") or got.get("imagePath")).content == PNG
        assert body_of(manager.delete(env.url(path)))
    assert stored(env) == before


def test_idempotency_key(env, A):
    key = uniq("upload")
    before = stored(env)
    # requests draws a new boundary for every request: the same file is the same request
    first = upload(A, LOGO, PNG, headers={"Idempotency-Key": key})
    info = body_of(first)
    assert "Idempotent-Replayed" not in first.headers
    again = upload(A, LOGO, PNG, filename="other-name.png", headers={"Idempotency-Key": key})
    assert body_of(again) == info and again.headers["Idempotent-Replayed"] == "true"
    assert stored(env) - before == {name_of(info["logoPath"])}, "a replay must leave no file behind"
    assert_error(upload(A, LOGO, JPEG, headers={"Idempotency-Key": key}), 422, code="idempotency_key_reused")
    assert stored(env) - before == {name_of(info["logoPath"])}
    # a refusal by validation is not kept: the key still works afterwards
    key2 = uniq("upload")
    assert_error(upload(A, LOGO, GIF, headers={"Idempotency-Key": key2}), 400)
    ok = body_of(upload(A, LOGO, JPEG, headers={"Idempotency-Key": key2}))
    assert name_of(ok["logoPath"]).endswith(".jpg")
    assert name_of(info["logoPath"]) not in stored(env)
    body_of(A.delete(LOGO))


# ---------------------------------------------------------------------------------------------
# The media route

def test_media_route_refuses_anything_but_stored_names(env, A):
    info = body_of(upload(A, LOGO, PNG))
    name = name_of(info["logoPath"])
    os.makedirs(env.media_dir, exist_ok=True)
    with open(os.path.join(env.media_dir, "secret.txt"), "w") as f:
        f.write("not for the web")
    planted = "0" * 32 + ".png"
    os.symlink(os.path.abspath(env.db) if env.engine == "sqlite" else "/etc/hostname",
               os.path.join(env.media_dir, planted))
    hex_upper = name.split(".")[0].upper() + ".png"
    try:
        base = "/ext/api/v1/media/"
        status, content, _ = raw_get(env, base + name)
        assert status == 200 and content == PNG
        for target in (base + "../../kopilka.db", base + "..%2F..%2Fkopilka.db", base + "%2e%2e%2fkopilka.db",
                       base + "..", base + "%2e%2e", base + ".", base + "secret.txt",
                       base + "..%2fmedia%2f" + name, base + "%2F" + name, base + name + "/",
                       base + "%00../../kopilka.db", base + name.replace(".png", ".gif"),
                       base + name.replace(".png", ".PNG"), base + hex_upper, base + planted,
                       base + "f" * 32 + ".png", base + name.split(".")[0], base,
                       base + ".tmp-" + "a" * 32, "/ext/api/v1/media/../media/" + name + "/x"):
            status, content, ctype = raw_get(env, target)
            assert status in (404, 400), f"{target} answered {status}"
            assert b"not for the web" not in content and b"SQLite" not in content
            assert ctype.startswith("application/json"), target
        assert_error(fetch(env, base + "f" * 32 + ".png"), 404, code="not_found")
        r = Session().post(env.base.replace("/ext/api/v1", "") + info["logoPath"], data=b"x")
        assert_error(r, 405, code="method_not_allowed")
    finally:
        os.remove(os.path.join(env.media_dir, "secret.txt"))
        os.remove(os.path.join(env.media_dir, planted))
    body_of(A.delete(LOGO))


def test_media_dir_setting_is_documented():
    out = run_cli("--help").stdout + run_cli("--help").stderr
    assert "--media-dir" in out and "KOPILKA_MEDIA_DIR" in out


# ---------------------------------------------------------------------------------------------
# Declared dimensions (issue 12 B12): a header may claim 2^31-1 x 2^31-1 pixels

def png_of_size(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b""))


def jpeg_of_size(width, height):
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xc0\x00\x0b\x08" + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00" + b"\xff\xd9")


def webp_of_size(width, height):  # VP8X: canvas width-1 and height-1, 24 bits each
    payload = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBP" + b"VP8X" + struct.pack("<I", len(payload)) + payload


@pytest.mark.parametrize("data", [png_of_size(2**31 - 1, 2**31 - 1), png_of_size(8193, 1),
                                  png_of_size(8192, 8192), jpeg_of_size(65535, 65535),
                                  webp_of_size(2**24, 2**24), webp_of_size(8192, 4097)],
                         ids=["png-2^31", "png-8193", "png-64MP", "jpeg-65535", "webp-2^24", "webp-32MP"])
def test_images_too_large_in_pixels_are_400(env, A, data):
    before = stored(env)
    logo_before = body_of(A.get("/loyalty/settings/contact_info/"))["logoPath"]
    body = assert_error(upload(A, LOGO, data), 400, code="validation_failed", field="logo")
    assert "pixels" in body["message"]
    assert stored(env) == before
    assert body_of(A.get("/loyalty/settings/contact_info/"))["logoPath"] == logo_before
    coupon = body_of(A.post("/loyalty/coupons/", {"title": "big"}), 201)
    assert_error(upload(A, f"/loyalty/coupons/{coupon['id']}/image/", data, field="image"), 400,
                 field="image")


@pytest.mark.parametrize("data", [png_of_size(0, 5), jpeg_of_size(5, 0),
                                  b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"],
                         ids=["png-0", "jpeg-0", "jpeg-no-frame"])
def test_images_without_readable_dimensions_are_400(env, A, data):
    assert_error(upload(A, LOGO, data), 400, code="validation_failed", field="logo")


@pytest.mark.parametrize("data", [png_of_size(8192, 2048), jpeg_of_size(4096, 4096), webp_of_size(320, 240)],
                         ids=["png-8192x2048", "jpeg-16MP", "webp-320x240"])
def test_images_within_the_bounds_are_taken(env, A, data):
    info = body_of(upload(A, LOGO, data))
    assert fetch(env, info["logoPath"]).content == data
