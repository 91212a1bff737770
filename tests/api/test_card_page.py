"""The customer's card page GET /c/{token} and the grown-up receipt page GET /r/{token} (issue
15): what they show (merchant brand, balance, coupons, operations, units, points, the fiscal
QR code's text), their 404s, their headers (a strict CSP, no-store), that they load nothing from
another origin, cardURL in the Client JSON and order.fp."""
import hashlib
import base64
import re

from conftest import Session, assert_error, body_of, new_phone, refund, rule, sale, uniq

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def root(env):
    return env.base.replace("/ext/api/v1", "")


def assert_page_headers(r):
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    return csp


def assert_style_allowed(r):
    """The page's one <style> is the one the CSP allows by its hash; there is no script, no
    style attribute, and nothing refers to another origin."""
    csp = assert_page_headers(r)
    styles = re.findall(r"<style>(.*?)</style>", r.text, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "<script" not in r.text.lower() and " style=" not in r.text
    # No URL of another host: every src/href is a path of this origin (the SVG namespace is a
    # name, not a request).
    for attr, url in re.findall(r'\s(src|href|action)="([^"]*)"', r.text):
        assert url.startswith("/") and not url.startswith("//"), (attr, url)
    text = r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http://" not in text and "https://" not in text and "//" not in re.sub(r"<style>.*?</style>", "", text, flags=re.S).replace("<!doctype", "")


def test_card_page_shows_balance_coupons_operations(env, A):
    body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кофейня «Зерно» & Co", "brandColor": "#1E7F4F"}))
    A.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
               newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    client = A.create_client(phone=phone, name="Анна <b>")
    assert client["cardURL"].endswith(f"/c/{client['token']}") and HEX32.match(client["token"])
    assert client["cardURL"].startswith("http://")  # --public-url's default: absolute
    A.order(sale(phone=phone, items=[{"name": "Капучино", "price": 250, "quantity": 2}]))  # +50
    A.order(sale(phone=phone, items=[{"name": "Круассан", "price": 120, "quantity": 1}], amount=12.5, currency="points"))
    coupon = A.catalog_coupon(title="Кофе в подарок", header="Любой кофе", validDays=30)
    issued = A.issue(client["id"], coupon["id"])
    code = issued["merchantToken"]
    assert re.fullmatch(r"\d{6}", code)
    balance = A.balance(client["id"])

    r = Session().get(f"{root(env)}/c/{client['token']}")  # public: no credentials
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert_style_allowed(r)
    page = r.text
    assert "Кофейня «Зерно» &amp; Co" in page and "--brand:#1e7f4f" in page
    assert "Анна &lt;b&gt;" in page and "<b>" not in page.split("Анна")[1][:10]
    assert f'data-points="{balance.normalize():f}"' in page, page
    assert 'data-rubles="0"' in page
    assert "Кофе в подарок" in page and f'<span class="code">{code}</span>' in page
    # The operations: the accrual of each sale and the spend, newest first.
    ops = re.findall(r'<td class="num">([^<]*)</td>', page)
    assert ops[:3] == ["+10.75 б.", "-12.5 б.", "+50 б."], ops
    assert "Оплата баллами" in page and "Начисление за покупку" in page
    # The QR code: an inline SVG of the token, and the token in text.
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \d+ \d+"[^>]*class="qr"', page)
    assert f'<p class="token">{client["token"]}</p>' in page
    # The same client is found by that token through the API, as the POS does after the scan.
    assert body_of(A.get(f"/clients/{client['token']}/"))["id"] == client["id"]


def test_card_url_everywhere_a_client_is(env, A):
    phone = new_phone()
    c = A.create_client(phone=phone)
    want = c["cardURL"]
    assert body_of(A.get(f"/clients/{c['id']}/"))["cardURL"] == want
    assert [x["cardURL"] for x in body_of(A.get("/clients/", params={"phone": phone}))] == [want]
    o = A.order(sale(phone=phone))
    assert body_of(A.get(f"/fiscal/orders/{o['id']}/"))["customer"]["cardURL"] == want


def test_card_url_relative_without_public_url(make_env):
    e = make_env("--public-url", "")
    c = e.a.create_client(phone=new_phone())
    assert c["cardURL"] == f"/c/{c['token']}"
    assert Session().get(f"{root(e)}{c['cardURL']}").status_code == 200


def test_card_page_404s_and_other_merchants(env, A, B):
    s = Session()
    for bad in ["0" * 32, "not-a-token", "A" * 32, "0" * 31, "0" * 33]:
        r = s.get(f"{root(env)}/c/{bad}")
        assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html"), bad
        assert_style_allowed(r)
        assert "Такой карты нет" in r.text
    assert s.post(f"{root(env)}/c/{'0' * 32}").status_code == 405
    # Each merchant's client shows its own merchant's brand.
    body_of(B.put("/loyalty/settings/contact_info/", {"company": "Пекарня Б"}))
    cb = B.create_client(phone=new_phone())
    page = s.get(f"{root(env)}/c/{cb['token']}").text
    assert "Пекарня Б" in page and "Зерно" not in page


def test_brand_color_is_validated(env, A):
    for bad in ["red", "#12345", "#1234567", "#12345g", "123456"]:
        assert_error(A.put("/loyalty/settings/contact_info/", {"brandColor": bad}), 400, field="brandColor")
    assert body_of(A.put("/loyalty/settings/contact_info/", {"brandColor": "#AbCdEf"}))["brandColor"] == "#abcdef"
    assert body_of(A.get("/loyalty/settings/contact_info/"))["brandColor"] == "#abcdef"
    assert body_of(A.put("/loyalty/settings/contact_info/", {"brandColor": ""}))["brandColor"] is None
    # A light colour gets dark text on it.
    body_of(A.put("/loyalty/settings/contact_info/", {"brandColor": "#ffeeaa"}))
    c = A.create_client(phone=new_phone())
    assert "--brand:#ffeeaa;--on-brand:#000" in Session().get(f"{root(env)}/c/{c['token']}").text
    body_of(A.put("/loyalty/settings/contact_info/", {"brandColor": "#1e7f4f"}))


def fiscal_sale(phone, **order):
    body = sale(phone=phone, items=[{"name": "Сахар", "price": 80, "quantity": 1.5, "unit": "kg"},
                                    {"name": "Молоко", "price": 90, "quantity": 1, "unit": "L"},
                                    {"name": "Булка", "price": 40, "quantity": 2}])
    body["order"].update(order)
    return body


def test_receipt_page_grown_up(env, A):
    body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кофейня «Зерно» & Co", "brandColor": "#1e7f4f"}))
    A.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
               newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    A.order(sale(phone=phone, items=[{"name": "Чай", "price": 200, "quantity": 1}]))  # +20 points
    # 2026-01-05 06:30 UTC: 09:30 in Moscow (the default offset, 180 minutes)
    o = A.order(fiscal_sale(phone, fn="9960440300123456", fd="40211", fp="2817401935",
                            externalDate=1767594600000), )
    o_spend = A.balance(o["clientId"])
    token = o["publicURL"].rsplit("/", 1)[1]
    r = Session().get(f"{root(env)}/r/{token}")
    assert r.status_code == 200
    assert_style_allowed(r)
    page = r.text
    assert "Кофейня «Зерно» &amp; Co" in page and "--brand:#1e7f4f" in page
    assert "1.5 кг × 80" in page and "1 л × 90" in page and "2 шт × 40" in page
    assert "piece" not in page and " kg" not in page
    assert "05.01.2026 09:30" in page
    assert 'data-accrued="29"' in page and 'data-spent="0"' in page
    client = body_of(A.get(f"/clients/{o['clientId']}/"))
    assert f'href="/c/{client["token"]}"' in page
    assert "ФН: 9960440300123456" in page and "ФД: 40211" in page and "ФП: 2817401935" in page
    assert 'data-fiscal-qr="t=20260105T0930&amp;s=290.00&amp;fn=9960440300123456&amp;i=40211&amp;fp=2817401935&amp;n=1"' in page \
        or 'data-fiscal-qr="t=20260105T0930&s=290.00&fn=9960440300123456&i=40211&fp=2817401935&n=1"' in page, page
    assert page.count("<svg") == 1
    assert o_spend == 49
    # A spend shows on its receipt; a refund's QR code says n=2.
    s = A.order(fiscal_sale(phone, fn="9960440300123456", fd="40212", fp="17", ) | {"amount": 10, "currency": "points"})
    spage = Session().get(f"{root(env)}/r/{s['publicURL'].rsplit('/', 1)[1]}").text
    assert 'data-spent="10"' in spage
    items = body_of(A.get(f"/fiscal/orders/{s['id']}/items/"))
    rf = refund([{"id": items[2]["id"]}])
    rf["order"].update(fn="9960440300123456", fd="40213", fp="4294967295")
    back = A.order(rf)
    rpage = Session().get(f"{root(env)}/r/{back['publicURL'].rsplit('/', 1)[1]}").text
    assert "Возврат" in rpage and "&n=2" in rpage.replace("&amp;", "&")
    assert "fp=4294967295" in rpage.replace("&amp;", "&") and "s=80.00" in rpage.replace("&amp;", "&")


def test_receipt_without_fiscal_sign_has_no_fiscal_qr(env, A):
    phone = new_phone()
    o = A.order(fiscal_sale(phone, fn="9960440300123456", fd="40299"))
    page = Session().get(f"{root(env)}/r/{o['publicURL'].rsplit('/', 1)[1]}").text
    assert "ФН: 9960440300123456" in page and "ФП" not in page and "<svg" not in page
    anon = A.order(sale(items=[{"name": "Вода", "price": 50, "quantity": 1}]))
    page = Session().get(f"{root(env)}/r/{anon['publicURL'].rsplit('/', 1)[1]}").text
    assert "Фискальные данные" not in page and 'href="/c/' not in page
    r = Session().get(f"{root(env)}/r/{'0' * 32}")
    assert_error(r, 404)
    assert_page_headers(r)


def test_order_fp_is_validated_and_kept(env, A):
    phone = new_phone()
    for bad in ["12345678901", "4294967296", "12a", " 1", "-1", 17]:
        assert_error(A.order(fiscal_sale(phone, fp=bad), status=400), 400, field="order.fp")
    ext = uniq("fp")
    first = A.order(fiscal_sale(phone, fp="0042", fn="1", fd="2") | {})
    # The seed's refund form takes fp too.
    sale_body = fiscal_sale(phone, fp="1", fn="1", fd="3")
    sale_body["order"]["externalId"] = ext
    A.order(sale_body)
    seed_refund = {"order": {"externalId": ext, "receiptType": "refund", "fd": "4", "fn": "1", "fp": "99",
                             "items": [{"name": "Булка", "price": 40, "quantity": 1}]}}
    back = A.order(seed_refund)
    page = Session().get(f"{root(env)}/r/{back['publicURL'].rsplit('/', 1)[1]}").text.replace("&amp;", "&")
    assert "fp=99&n=2" in page
    # An order posted again with another fp is another order's contents: a conflict.
    again = fiscal_sale(phone, fp="43", fn="1", fd="2")
    again["order"]["externalId"] = first["externalOrderNumber"]
    assert_error(A.order(again, status=409), 409)
    same = fiscal_sale(phone, fp="0042", fn="1", fd="2")
    same["order"]["externalId"] = first["externalOrderNumber"]
    assert A.order(same)["id"] == first["id"]
