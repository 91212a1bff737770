# Loyalty settings (API.md 4.4), the coupon catalog (4.4) and issuing coupons to clients (6, 2.2).
import re
import time

import pytest

from conftest import (API_PREFIX, DAY_MS, DIGITS6, HEX32, assert_error, assert_money, body_of, describe,
                      new_phone, rule, uniq)

SETTINGS_KEYS = {"active", "currency", "newCustomerSettings", "customerSettings", "autoRegisterClients",
                 "maxSpendPercent"}
RULE_KEYS = {"couponId", "type", "amount", "validDays"}
STYLES = ["theme_pale_orange", "theme_white", "theme_light_blue", "theme_brown", "theme_soft_orange",
          "theme_dark_grayish_navy", "theme_black", "theme_dull_green", "theme_light_pink"]
CATALOG_KEYS = {"id", "title", "header", "subHeader", "shortDescription", "longDescription", "imagePath",
                "style", "validDays", "validUntil", "deleted"}
INSTANCE_KEYS = {"id", "title", "token", "shareToken", "merchantToken", "merchantShareToken"}


def assert_rule(r):
    assert set(r) == RULE_KEYS, r
    assert r["type"] in ("amount", "percentage")
    assert r["couponId"] is None or isinstance(r["couponId"], int)
    assert r["validDays"] is None or isinstance(r["validDays"], int)


# --- settings ---------------------------------------------------------------------------------

def test_new_merchant_settings(A, B):
    for api in (A, B):
        s = body_of(api.get("/loyalty/settings/"))
        assert set(s) == SETTINGS_KEYS, s
        assert s["active"] is False
        assert s["currency"] == "points"
        assert s["autoRegisterClients"] is True
        assert s["maxSpendPercent"] == 100
        assert_rule(s["newCustomerSettings"])
        assert_rule(s["customerSettings"])


def test_put_settings_merges_a_subset(A, B):
    before = body_of(A.get("/loyalty/settings/"))
    after = A.settings(active=True)
    assert after == dict(before, active=True)
    new_rule = rule("percentage", 7.5, 30)
    after2 = A.settings(customerSettings=new_rule, maxSpendPercent=40)
    assert after2 == dict(after, customerSettings=new_rule, maxSpendPercent=40)
    assert_money(after2["customerSettings"]["amount"], "7.5")
    after3 = A.settings(newCustomerSettings=rule("amount", 100.25, None), currency="rubles",
                        autoRegisterClients=False)
    assert after3 == dict(after2, newCustomerSettings=rule("amount", 100.25, None), currency="rubles",
                          autoRegisterClients=False)
    assert body_of(A.get("/loyalty/settings/")) == after3
    # B's settings did not move
    b = body_of(B.get("/loyalty/settings/"))
    assert b["active"] is False and b["maxSpendPercent"] == 100 and b["currency"] == "points"
    # restore for later tests
    A.settings(currency="points", autoRegisterClients=True, maxSpendPercent=100, active=False)


@pytest.mark.parametrize("change,field", [
    ({"customerSettings": rule("bonus", 5)}, "customerSettings.type"),
    ({"newCustomerSettings": rule("percentage", 100.01)}, "newCustomerSettings.amount"),
    ({"newCustomerSettings": rule("percentage", 101)}, "newCustomerSettings.amount"),
    ({"customerSettings": rule("amount", -1)}, "customerSettings.amount"),
    ({"customerSettings": rule("amount", 1.005)}, "customerSettings.amount"),
    ({"customerSettings": rule("amount", 5, 0)}, "customerSettings.validDays"),
    ({"customerSettings": rule("amount", 5, -3)}, "customerSettings.validDays"),
    ({"customerSettings": rule("amount", 5, None, 999999)}, "customerSettings.couponId"),
    ({"maxSpendPercent": 0}, "maxSpendPercent"),
    ({"maxSpendPercent": 101}, "maxSpendPercent"),
    ({"maxSpendPercent": -5}, "maxSpendPercent"),
    ({"currency": "dollars"}, "currency"),
    ({"active": "yes"}, "active"),
    ({"autoRegisterClients": 1}, "autoRegisterClients"),
])
def test_put_settings_invalid_is_400_and_changes_nothing(A, change, field):
    before = body_of(A.get("/loyalty/settings/"))
    # a valid change in the same request must not be applied either
    piggyback = {"maxSpendPercent": 55} if "active" in change else {"active": not before["active"]}
    body = dict(change, **piggyback)
    r = A.put("/loyalty/settings/", body)
    assert_error(r, 400, code="validation_failed", field=field, path=API_PREFIX + "/loyalty/settings/")
    assert body_of(A.get("/loyalty/settings/")) == before


def test_percentage_of_100_and_amount_rule_over_100_are_valid(A):
    s = A.settings(newCustomerSettings=rule("percentage", 100), customerSettings=rule("amount", 500))
    assert s["newCustomerSettings"]["amount"] == 100
    assert s["customerSettings"]["amount"] == 500


def test_settings_coupon_must_be_this_merchants_live_catalog_coupon(A, B):
    mine = A.catalog_coupon()
    s = A.settings(customerSettings=rule("amount", 1, None, mine["id"]))
    assert s["customerSettings"]["couponId"] == mine["id"]
    theirs = B.catalog_coupon()
    assert_error(A.put("/loyalty/settings/", {"newCustomerSettings": rule("amount", 1, None, theirs["id"])}),
                 400, field="newCustomerSettings.couponId")
    gone = A.catalog_coupon()
    assert A.delete(f"/loyalty/coupons/{gone['id']}/").status_code in (200, 204)
    assert_error(A.put("/loyalty/settings/", {"newCustomerSettings": rule("amount", 1, None, gone["id"])}),
                 400, field="newCustomerSettings.couponId")
    A.settings(customerSettings=rule("amount", 0))


# --- catalog ----------------------------------------------------------------------------------

def test_create_catalog_coupon_minimal(A):
    title = uniq("Минимальный")
    r = A.post("/loyalty/coupons/", {"title": title})
    c = body_of(r, 201)
    assert set(c) >= CATALOG_KEYS, describe(r)
    assert isinstance(c["id"], int) and c["id"] > 0
    assert c["title"] == title
    assert c["style"] == "theme_brown"
    assert c["imagePath"] is None
    assert c["deleted"] is False
    assert c["validDays"] is None and c["validUntil"] is None
    assert body_of(A.get(f"/loyalty/coupons/{c['id']}/")) == c


def test_create_catalog_coupon_full(A):
    until = int(time.time() * 1000) + 90 * DAY_MS
    fields = {"title": uniq("full"), "header": "Кофе в подарок", "subHeader": "каждый 5-й",
              "shortDescription": "<b>Бесплатно</b>", "longDescription": "<p>A &amp; B</p>\n<i>x</i>",
              "style": "theme_dull_green", "validDays": 14, "validUntil": until}
    c = body_of(A.post("/loyalty/coupons/", fields), 201)
    for k, v in fields.items():
        assert c[k] == v, k
    assert body_of(A.get(f"/loyalty/coupons/{c['id']}")) == c


@pytest.mark.parametrize("style", STYLES)
def test_every_style_is_accepted(A, style):
    assert A.catalog_coupon(style=style)["style"] == style


@pytest.mark.parametrize("fields,field", [
    ({}, "title"),
    ({"title": ""}, "title"),
    ({"title": "t" * 257}, "title"),
    ({"title": None}, "title"),
    ({"title": "ok", "style": "theme_purple"}, "style"),
    ({"title": "ok", "style": "THEME_BROWN"}, "style"),
    ({"title": "ok", "validDays": 0}, "validDays"),
    ({"title": "ok", "validDays": 1.5}, "validDays"),
    ({"title": "ok", "validUntil": "tomorrow"}, "validUntil"),
    ({"title": "ok", "header": 5}, "header"),
])
def test_invalid_catalog_coupon_is_400(A, fields, field):
    before = body_of(A.get("/loyalty/coupons/", params={"limit": 1000}))
    assert_error(A.post("/loyalty/coupons/", fields), 400, code="validation_failed", field=field)
    assert body_of(A.get("/loyalty/coupons/", params={"limit": 1000})) == before


def test_title_of_256_characters_is_accepted(A):
    t = "ж" * 256
    assert A.catalog_coupon(title=t)["title"] == t


def test_catalog_list_by_id_with_paging(A):
    made = [A.catalog_coupon()["id"] for _ in range(3)]
    everything = body_of(A.get("/loyalty/coupons/", params={"limit": 1000}))
    all_ids = [c["id"] for c in everything]
    assert all_ids == sorted(all_ids)
    assert set(made) <= set(all_ids)
    paged = []
    for off in range(0, len(all_ids), 2):
        paged += [c["id"] for c in body_of(A.get("/loyalty/coupons/", params={"offset": off, "limit": 2}))]
    assert paged == all_ids
    assert_error(A.get("/loyalty/coupons/", params={"offset": "-1"}), 400, field="offset")
    assert_error(A.get("/loyalty/coupons/", params={"limit": "abc"}), 400, field="limit")


def test_catalog_coupon_404s(A, B):
    mine = A.catalog_coupon()
    assert_error(A.get("/loyalty/coupons/999999999/"), 404, code="not_found")
    assert_error(A.get("/loyalty/coupons/abc/"), 404)
    assert_error(B.get(f"/loyalty/coupons/{mine['id']}/"), 404, code="not_found")
    assert mine["id"] not in [c["id"] for c in body_of(B.get("/loyalty/coupons/", params={"limit": 1000}))]


# --- issuing coupons to clients -----------------------------------------------------------------

def test_issue_coupon_to_client(A):
    client = A.create_client(phone=new_phone())
    cat = A.catalog_coupon(header="Заголовок", subHeader="Подзаголовок", shortDescription="<b>short</b>",
                           longDescription="long & <br/> html", validDays=10)
    t0 = int(time.time() * 1000)
    r = A.post(f"/clients/{client['id']}/coupons/", {"couponId": cat["id"]})
    inst = body_of(r, 201)
    t1 = int(time.time() * 1000)
    assert INSTANCE_KEYS <= set(inst), describe(r)
    assert isinstance(inst["id"], int) and inst["id"] > 0
    assert inst["title"] == cat["title"]
    assert inst["header"] == "Заголовок"
    assert inst["subHeader"] == "Подзаголовок"
    assert inst["shortDescription"] == "<b>short</b>"
    assert inst["longDescription"] == "long & <br/> html"
    assert HEX32.match(inst["token"]) and HEX32.match(inst["shareToken"])
    assert inst["token"] != inst["shareToken"]
    assert DIGITS6.match(inst["merchantToken"]) and DIGITS6.match(inst["merchantShareToken"])
    assert isinstance(inst["expireDate"], int)
    assert t0 + 10 * DAY_MS - 60_000 <= inst["expireDate"] <= t1 + 10 * DAY_MS + 60_000
    assert body_of(A.get(f"/clients/{client['id']}/coupons/")) == [inst]


def test_issued_coupon_omits_missing_texts_and_expiry(A):
    client = A.create_client(phone=new_phone())
    cat = A.catalog_coupon()  # no texts, never expires
    inst = A.issue(client["id"], cat["id"])
    for k in ("header", "subHeader", "shortDescription", "longDescription", "expireDate"):
        assert k not in inst, f"{k} present: {inst}"
    assert body_of(A.get(f"/clients/{client['id']}/coupons/")) == [inst]


def test_expire_date_is_the_earlier_of_valid_days_and_valid_until(A):
    client = A.create_client(phone=new_phone())
    until = int(time.time() * 1000) + 3 * DAY_MS
    inst = A.issue(client["id"], A.catalog_coupon(validDays=30, validUntil=until)["id"])
    assert inst["expireDate"] == until
    until2 = int(time.time() * 1000) + 300 * DAY_MS
    inst2 = A.issue(client["id"], A.catalog_coupon(validUntil=until2)["id"])
    assert inst2["expireDate"] == until2


def test_client_coupons_are_ordered_by_id_and_tokens_unique(A):
    client = A.create_client(phone=new_phone())
    cat = A.catalog_coupon()
    made = [A.issue(client["id"], cat["id"]) for _ in range(12)]
    listed = body_of(A.get(f"/clients/{client['id']}/coupons/"))
    assert [c["id"] for c in listed] == sorted(c["id"] for c in made)
    for key in ("token", "shareToken", "merchantToken", "merchantShareToken"):
        assert len({c[key] for c in made}) == len(made), key
    codes = [c["merchantToken"] for c in made] + [c["merchantShareToken"] for c in made]
    assert len(set(codes)) == len(codes)


def test_issue_deleted_or_expired_catalog_coupon_is_400(A):
    client = A.create_client(phone=new_phone())
    cat = A.catalog_coupon()
    before = A.issue(client["id"], cat["id"])
    r = A.delete(f"/loyalty/coupons/{cat['id']}/")
    assert r.status_code in (200, 204), describe(r)
    assert_error(A.post(f"/clients/{client['id']}/coupons/", {"couponId": cat["id"]}), 400)
    # issued ones live on
    assert body_of(A.get(f"/clients/{client['id']}/coupons/")) == [before]
    past = A.catalog_coupon(validUntil=int(time.time() * 1000) - 60_000)
    assert_error(A.post(f"/clients/{client['id']}/coupons/", {"couponId": past["id"]}), 400)
    assert body_of(A.get(f"/clients/{client['id']}/coupons/")) == [before]


def test_issue_bad_requests(A, B):
    client = A.create_client(phone=new_phone())
    cat = A.catalog_coupon()
    assert_error(A.post("/clients/999999999/coupons/", {"couponId": cat["id"]}), 404)
    assert_error(A.post(f"/clients/{client['id']}/coupons/", {}), 400, field="couponId")
    assert_error(A.post(f"/clients/{client['id']}/coupons/", {"couponId": "x"}), 400, field="couponId")
    r = A.post(f"/clients/{client['id']}/coupons/", {"couponId": 999999999})
    assert r.status_code in (400, 404), describe(r)
    assert_error(r, r.status_code)
    foreign = B.catalog_coupon()
    r = A.post(f"/clients/{client['id']}/coupons/", {"couponId": foreign["id"]})
    assert r.status_code in (400, 404), describe(r)
    assert_error(r, r.status_code)
    assert body_of(A.get(f"/clients/{client['id']}/coupons/")) == []


def test_write_off_rules(A, B):
    assert body_of(B.get("/loyalty/settings/write_off/rules/")) == {"patterns": []}
    rules = {"patterns": [{"currency": "points", "amount": 100}, {"currency": "rubles", "amount": 250.5}]}
    assert body_of(A.put("/loyalty/settings/write_off/rules/", rules)) == rules
    assert body_of(A.get("/loyalty/settings/write_off/rules/")) == rules
    assert '"amount":250.5' in A.get("/loyalty/settings/write_off/rules/").text
    assert body_of(B.get("/loyalty/settings/write_off/rules/")) == {"patterns": []}
    for bad, field in (({"patterns": [{"currency": "gold", "amount": 1}]}, "patterns[0].currency"),
                       ({"patterns": [{"currency": "points", "amount": 0.001}]}, "patterns[0].amount"),
                       ({"patterns": [{"currency": "points", "amount": 0}]}, "patterns[0].amount"),
                       ({"patterns": "all"}, "patterns"), ({}, "patterns")):
        assert_error(A.put("/loyalty/settings/write_off/rules/", bad), 400, field=field)
    assert body_of(A.put("/loyalty/settings/write_off/rules/", {"patterns": []})) == {"patterns": []}


def test_contact_info(A, B):
    empty = body_of(B.get("/loyalty/settings/contact_info/"))
    assert set(empty) == {"company", "phone", "email", "url", "instagram", "facebook", "vk", "youtube", "logoPath",
                          "brandColor", "joinURL"}
    join_url = empty.pop("joinURL")  # the join page, never null (test_enrol.py)
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/j/[0-9a-f]{16}", join_url), join_url
    assert all(v is None for v in empty.values())
    got = body_of(A.put("/loyalty/settings/contact_info/", {"company": "Кафе «Ромашка»", "url": "https://r.example"}))
    assert got["company"] == "Кафе «Ромашка»" and got["url"] == "https://r.example" and got["vk"] is None
    got = body_of(A.put("/loyalty/settings/contact_info/", {"url": None, "vk": "https://vk.com/r"}))
    assert got["company"] == "Кафе «Ромашка»" and got["url"] is None and got["vk"] == "https://vk.com/r"
    assert body_of(A.get("/loyalty/settings/contact_info/")) == got
    assert all(v is None for k, v in body_of(B.get("/loyalty/settings/contact_info/")).items() if k != "joinURL")
    assert_error(A.put("/loyalty/settings/contact_info/", {"email": "nope"}), 400, field="email")
    assert_error(A.put("/loyalty/settings/contact_info/", {"company": 5}), 400, field="company")


def test_update_catalog_coupon(A, B):
    cat = body_of(A.post("/loyalty/coupons/", {"title": "Upd", "header": "H", "validDays": 10}), 201)
    got = body_of(A.put(f"/loyalty/coupons/{cat['id']}/", {"subHeader": "S", "header": None,
                                                           "style": "theme_black", "validDays": None,
                                                           "validUntil": 4102444800000}))
    assert got["title"] == "Upd" and got["subHeader"] == "S" and got["header"] is None
    assert got["style"] == "theme_black" and got["validDays"] is None and got["validUntil"] == 4102444800000
    assert body_of(A.get(f"/loyalty/coupons/{cat['id']}/")) == got
    assert_error(A.put(f"/loyalty/coupons/{cat['id']}/", {"title": None}), 400, field="title")
    assert_error(A.put(f"/loyalty/coupons/{cat['id']}/", {"style": "neon"}), 400, field="style")
    assert_error(A.put(f"/loyalty/coupons/{cat['id']}/", {"validDays": 0}), 400, field="validDays")
    assert_error(B.put(f"/loyalty/coupons/{cat['id']}/", {"title": "Mine"}), 404, code="not_found")
    assert_error(A.put("/loyalty/coupons/999999999/", {"title": "X"}), 404, code="not_found")


def test_sale_points_replace_all(A, B):
    url = "/loyalty/settings/sale_points/"
    assert body_of(B.get(url)) == []
    first = body_of(A.put(url, [{"city": "Пермь", "address": "Ленина, 1"}, {"city": "Пермь", "address": "Мира, 5"}]))
    assert [p["address"] for p in first] == ["Ленина, 1", "Мира, 5"] and first[0]["region"] is None
    keep, drop = first
    second = body_of(A.put(url, [{"id": keep["id"], "city": "Пермь", "address": "Ленина, 1а", "phone": "+7 342"},
                                 {"city": "Оса", "address": "Новая, 2"}]))
    assert [p["address"] for p in second] == ["Ленина, 1а", "Новая, 2"]
    assert second[0]["id"] == keep["id"] and drop["id"] not in [p["id"] for p in second]
    assert body_of(A.get(url)) == second
    assert body_of(B.get(url)) == []
    assert_error(B.put(url, [{"id": keep["id"], "city": "X"}]), 400, field="sale_points[0].id")
    assert_error(A.put(url, [{"id": keep["id"]}, {"id": keep["id"]}]), 400, field="sale_points[1].id")
    assert_error(A.put(url, {"city": "X"}), 400)
    assert_error(A.put(url, [{"city": 5}]), 400, field="sale_points[0].city")
    assert body_of(A.get(url)) == second  # refused lists changed nothing
    assert body_of(A.put(url, [])) == []
