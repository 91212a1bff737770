# Reliability, tenant matrix (issue 4 item 6; docs/RELIABILITY.md section 6): three merchants on
# one database, each with staff and data; every route that takes an id or a token (from
# `kopilkad routes`, so a new {id} route fails this test until the matrix covers it), and every
# body or query field that names an object, called by each merchant's owner, manager and cashier
# with the other merchants' ids: the answer is the one for an id that does not exist (same status,
# same body but timestamp, path and the id itself), nothing of the other merchant changes, and no
# list endpoint shows a row of another merchant.
import copy
import re
import struct
import zlib

import pytest

import qrsvg
from conftest import (Api, Server, Session, body_of, describe, init_merchant, loads, new_phone,
                      refund, rule, run_cli, sale, uniq)

PASSWORD = "tenant-pass-1"


def png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff")) + chunk(b"IEND", b""))


class World:
    """One merchant's accounts and objects."""

    def __init__(self, env, n):
        self.n = n
        self.owner = (f"owner{n}-{uniq('t')}@example.com", PASSWORD)
        self.merchant_id = init_merchant(env.db, *self.owner, name=f"Merchant {n}")
        self.env = env

    def build(self):
        o = Api(self.env, self.owner)
        self.api = {"owner": o}
        for role in ("manager", "cashier"):
            login = f"{role}{self.n}-{uniq('t')}@example.com"
            e = body_of(o.post("/employees/", {"email": login, "password": PASSWORD, "role": role}), 201)
            setattr(self, role, e)
            self.api[role] = Api(self.env, (login, PASSWORD))
        o.settings(active=True, newCustomerSettings=rule("amount", 50), customerSettings=rule("amount", 5))
        self.cat = o.catalog_coupon()
        self.cat_img = o.catalog_coupon()
        body_of(o.post(f"/loyalty/coupons/{self.cat_img['id']}/image/",
                       files={"image": ("i.png", png(), "image/png")}))
        self.clients = []
        for _ in range(2):
            phone = new_phone(f"7{self.n}")
            self.clients.append(o.create_client(phone=phone, email=uniq(f"m{self.n}") + "@example.com",
                                                name=f"client of {self.n}"))
        c = self.clients[0]
        self.sale = o.order(sale(phone=c["phone"], items=[{"name": "a", "price": 40, "quantity": 2},
                                                           {"name": "b", "price": 10, "quantity": 1}],
                                 card=90))
        self.sale2 = o.order(sale(phone=c["phone"], card=100))
        self.refund = o.order(refund([{"id": self.sale2["items"][0]["id"]}]))
        self.cashier_sale = self.api["cashier"].order(sale(phone=self.clients[1]["phone"], card=10))
        self.inst = o.issue(c["id"], self.cat["id"])  # usable: tokens, codes
        self.inst_shared = o.issue(c["id"], self.cat["id"])  # its shareToken is what a friend redeems
        self.inst_held = o.issue(c["id"], self.cat["id"])
        self.hold = body_of(o.post("/fiscal_hub/cash_back/hold/", {"clientId": c["id"], "currency": "points",
                                                                    "amount": 5, "couponIds": [self.inst_held["id"]]}))
        self.hold_done = body_of(o.post("/fiscal_hub/cash_back/hold/", {"clientId": c["id"], "currency": "points",
                                                                         "amount": 1}))
        body_of(o.post("/fiscal_hub/cash_back/hold/write_off/",
                       {"transactionId": self.hold_done["transactionId"], "fiscalOrderId": uniq("f")}))
        self.sale_points = body_of(o.put("/loyalty/settings/sale_points/",
                                         [{"city": f"City {self.n}", "address": "1"},
                                          {"city": f"City {self.n}", "address": "2"}]))
        self.key = body_of(o.post("/api_keys/", {}), 201)
        # A customer import left at its preview: applying it is a change the matrix would see.
        self.imp = body_of(o.post("/imports/clients/", data=f"phone;name\n{new_phone(f'7{self.n}')};imported\n".encode(),
                                  headers={"Content-Type": "text/csv"}))
        # A webhook endpoint and an event of it (a client registered while it listens).
        self.webhook = body_of(o.post("/webhooks/", {"url": f"https://hooks{self.n}.example.com/k",
                                                     "events": ["client.created"]}), 201)
        body_of(o.post("/clients/", {"phone": new_phone(f"7{self.n}")}), 201)
        self.event = body_of(o.get(f"/webhooks/{self.webhook['id']}/deliveries/"))[0]["eventId"]
        self.ids = {
            "client": c["id"], "client_token": c["token"], "catalog": self.cat["id"],
            "catalog_img": self.cat_img["id"], "instance": self.inst["id"],
            "instance_token": self.inst["token"], "share_token": self.inst_shared["shareToken"],
            "merchant_token": self.inst["merchantToken"],
            "merchant_share_token": self.inst_shared["merchantShareToken"],
            "order": self.sale["id"], "item": self.sale["items"][0]["id"],
            "order_token": self.sale["publicURL"].rsplit("/", 1)[1],
            "hold_tx": self.hold["transactionId"], "hold_done_tx": self.hold_done["transactionId"],
            "employee": self.manager["id"], "employee2": self.cashier["id"], "api_key": self.key["id"],
            "sale_point": self.sale_points[0]["id"], "import": self.imp["importId"],
            "webhook": self.webhook["id"], "event": self.event,
        }
        return self

    def snapshot(self):
        """Everything of this merchant the matrix could change, read by its owner."""
        o = self.api["owner"]
        reads = ["/loyalty/settings/", "/loyalty/settings/sale_points/", "/loyalty/settings/contact_info/",
                 "/loyalty/settings/write_off/rules/", "/loyalty/coupons/?limit=1000", "/employees/", "/api_keys/", "/webhooks/",
                 "/fiscal/orders/?limit=1000", "/clients/?limit=1000"]
        for c in self.clients:
            reads += [f"/clients/{c['id']}/", f"/clients/{c['id']}/coupons/", f"/clients/{c['id']}/balance/",
                      f"/clients/{c['id']}/balance/history/?limit=1000"]
        for oid in (self.sale["id"], self.sale2["id"], self.cashier_sale["id"]):
            reads.append(f"/fiscal/orders/{oid}/items/")
        for cid in (self.cat["id"], self.cat_img["id"]):
            reads.append(f"/loyalty/coupons/{cid}/")
        reads.append(f"/imports/clients/{self.imp['importId']}/")
        return {path: body_of(o.get(path)) for path in reads}


class TenantEnv:
    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.db = f"{self.tmp}/kopilka.db"
        self.worlds = [World(self, n) for n in (1, 2, 3)]
        self.server = Server(self.db, self.tmp, ("--lockout-addr-failures", "100000", "--threads", "4")).start()
        for w in self.worlds:
            w.build()

    @property
    def base(self):
        return self.server.base

    def url(self, path):
        return self.base + path


@pytest.fixture(scope="module")
def tenv(tmp_path_factory):
    # The matrix runs on SQLite: tenancy lives in the shared handlers and the store's queries; the
    # PostgreSQL store's queries are held to the same answers by the whole suite on both engines.
    e = TenantEnv(tmp_path_factory.mktemp("tenant"))
    try:
        yield e
    finally:
        rc = e.server.stop()
        assert rc == 0, e.server.log_tail()
        p = run_cli("check", "--db", e.db)
        assert p.returncode == 0, p.stdout + p.stderr


# Ids that exist for nobody: an id far above any, tokens and codes of the right shape.
UNKNOWN = {
    "client": 987654321, "client_token": "0123456789abcdef0123456789abcdef", "catalog": 987654322,
    "catalog_img": 987654323, "instance": 987654324, "instance_token": "fedcba9876543210fedcba9876543210",
    "share_token": "00112233445566778899aabbccddeeff", "merchant_token": "000017",
    "merchant_share_token": "000019", "order": 987654325, "item": 987654326,
    "order_token": "ffeeddccbbaa99887766554433221100", "hold_tx": "00000000-0000-4000-8000-000000000001",
    "hold_done_tx": "00000000-0000-4000-8000-000000000002", "employee": 987654327, "employee2": 987654328,
    "api_key": 987654329, "sale_point": 987654330, "import": 987654331,
    "webhook": 987654332, "event": "evt_00000000000000000000000000000000",
}

# Every route whose path takes an id or a token, and how the matrix calls it: (method, path,
# kwargs builder). `own` is the caller's World, `ids` the target ids (a foreign merchant's or
# UNKNOWN). Cases keyed by the route line of `kopilkad routes`.
P = "/ext/api/v1"


def j(body):
    return {"json": body}


PATH_CASES = {
    f"GET {P}/clients/{{id}}/coupons/": [lambda own, ids: ("GET", f"/clients/{ids['client']}/coupons/", {})],
    f"POST {P}/clients/{{id}}/coupons/": [
        lambda own, ids: ("POST", f"/clients/{ids['client']}/coupons/", j({"couponId": own.cat["id"]}))],
    f"GET {P}/clients/{{id}}/balance/": [lambda own, ids: ("GET", f"/clients/{ids['client']}/balance/", {})],
    f"GET {P}/clients/{{id}}/balance/history/": [
        lambda own, ids: ("GET", f"/clients/{ids['client']}/balance/history/", {})],
    f"POST {P}/clients/{{id}}/balance/write_off/": [
        lambda own, ids: ("POST", f"/clients/{ids['client']}/balance/write_off/",
                          j({"balance": [{"amount": 1, "currency": "points"}]})),
        lambda own, ids: ("POST", f"/clients/{ids['client']}/balance/write_off/",
                          j({"coupons": [ids["instance"]]}))],
    f"GET {P}/clients/{{ref}}/": [lambda own, ids: ("GET", f"/clients/{ids['client']}/", {}),
                                  lambda own, ids: ("GET", f"/clients/{ids['client_token']}/", {})],
    f"PUT {P}/clients/{{ref}}/": [
        lambda own, ids: ("PUT", f"/clients/{ids['client']}/", j({"name": "taken over"})),
        lambda own, ids: ("PUT", f"/clients/{ids['client_token']}/", j({"name": "taken over"}))],
    f"GET {P}/fiscal/orders/{{id}}/items/": [lambda own, ids: ("GET", f"/fiscal/orders/{ids['order']}/items/", {})],
    f"GET {P}/fiscal/orders/{{id}}/": [lambda own, ids: ("GET", f"/fiscal/orders/{ids['order']}/", {})],
    f"GET {P}/clients/{{id}}/personal-data/": [
        lambda own, ids: ("GET", f"/clients/{ids['client']}/personal-data/", {})],
    f"POST {P}/clients/{{id}}/erase/": [
        # a client of its own when the caller's ids name one (fresh_ids): erasing the shared
        # client would leave the later cases an erased one
        lambda own, ids: ("POST", f"/clients/{ids.get('erasable', ids['client'])}/erase/",
                          j({"confirm": str(ids.get('erasable', ids['client']))}))],
    f"POST {P}/clients/{{id}}/balance/adjust/": [
        lambda own, ids: ("POST", f"/clients/{ids['client']}/balance/adjust/", j({"amount": 5, "reason": "taken"})),
        lambda own, ids: ("POST", f"/clients/{ids['client']}/balance/adjust/", j({"amount": -1, "reason": "taken"}))],
    f"GET {P}/imports/clients/{{id}}/": [lambda own, ids: ("GET", f"/imports/clients/{ids['import']}/", {})],
    f"POST {P}/imports/clients/{{id}}/apply/": [
        lambda own, ids: ("POST", f"/imports/clients/{ids['import']}/apply/", j({"skipProblems": True}))],
    f"POST {P}/fiscal/orders/{{id}}/reaction/": [
        lambda own, ids: ("POST", f"/fiscal/orders/{ids['order']}/reaction/", j({"reaction": "negative"}))],
    f"GET {P}/loyalty/coupons/{{id}}/": [lambda own, ids: ("GET", f"/loyalty/coupons/{ids['catalog']}/", {})],
    f"PUT {P}/loyalty/coupons/{{id}}/": [
        lambda own, ids: ("PUT", f"/loyalty/coupons/{ids['catalog']}/", j({"title": "taken over"}))],
    f"DELETE {P}/loyalty/coupons/{{id}}/": [lambda own, ids: ("DELETE", f"/loyalty/coupons/{ids['catalog']}/", {})],
    f"POST {P}/loyalty/coupons/{{id}}/image/": [
        lambda own, ids: ("POST", f"/loyalty/coupons/{ids['catalog']}/image/",
                          {"files": {"image": ("i.png", png(), "image/png")}})],
    f"DELETE {P}/loyalty/coupons/{{id}}/image/": [
        lambda own, ids: ("DELETE", f"/loyalty/coupons/{ids['catalog_img']}/image/", {})],
    f"PUT {P}/employees/{{id}}/": [
        lambda own, ids: ("PUT", f"/employees/{ids['employee']}/", j({"firstName": "taken", "password": "taken-over-1"}))],
    f"DELETE {P}/employees/{{id}}/": [lambda own, ids: ("DELETE", f"/employees/{ids['employee2']}/", {})],
    f"DELETE {P}/api_keys/{{id}}/": [lambda own, ids: ("DELETE", f"/api_keys/{ids['api_key']}/", {})],
    f"PUT {P}/webhooks/{{id}}/": [
        lambda own, ids: ("PUT", f"/webhooks/{ids['webhook']}/", j({"active": False})),
        lambda own, ids: ("PUT", f"/webhooks/{ids['webhook']}/", j({"url": "https://taken.example.com/"}))],
    f"GET {P}/webhooks/{{id}}/deliveries/": [
        lambda own, ids: ("GET", f"/webhooks/{ids['webhook']}/deliveries/", {})],
    f"POST {P}/webhooks/events/{{eventId}}/redeliver/": [
        lambda own, ids: ("POST", f"/webhooks/events/{ids['event']}/redeliver/", {})],
    # last of the webhook cases: it removes the endpoint the ones above reach
    f"DELETE {P}/webhooks/{{id}}/": [lambda own, ids: ("DELETE", f"/webhooks/{ids['webhook']}/", {})],
}

# Public routes with a {name} in the path, checked by their own tests below.
PUBLIC_PATH_ROUTES = {
    f"GET {P}/media/{{file}}": "public by an unguessable file name (test_media_route)",
    "GET /r/{file}": "public receipt page by order token (test_receipt_page_by_token)",
    "POST /r/{file}": "public receipt page by order token (test_receipt_page_by_token)",
    "GET /c/{file}": "public card page by client token (test_card_page_by_token)",
    "GET /c/{token}/pass.pkpass": "public Apple Wallet pass by client token (test_card_page_by_token; "
                                  "signed passes per merchant: test_wallet_apple.py)",
    "GET /c/{token}/gwallet": "public Google Wallet link by client token (test_wallet_google.py: "
                              "a token shows its own client, unknown and other tokens 404)",
    "POST /wallet/v1/devices/{rest}": "Apple's PassKit web service, by the pass's authenticationToken "
                                      "(test_wallet_passkit.py: another client's token and another "
                                      "merchant's serial are 401)",
    "DELETE /wallet/v1/devices/{rest}": "the same (test_wallet_passkit.py)",
    "GET /wallet/v1/devices/{rest}": "serial numbers of a device's own registrations, no balances "
                                     "(test_wallet_passkit.py)",
    "GET /wallet/v1/passes/{rest}": "the latest pass by its authenticationToken (test_wallet_passkit.py)",
    "GET /j/{file}": "public join page by the merchant's join code (test_enrol.py: an unknown code 404s, "
                     "a code enrols into its own merchant only)",
    "POST /j/{file}": "public join page by the merchant's join code (test_enrol.py)",
    "GET /j/{code}/confirm": "public confirmation by join code and enrolment token (test_enrol.py: another "
                             "merchant's code with this token 404s)",
    "POST /j/{code}/confirm": "public confirmation by join code and enrolment token (test_enrol.py)",
    "GET /docs/{file}": "static documentation files, no merchant data",
    "GET /lk/assets/{file}": "the cabinet's static files, no merchant data",
}

# Routes whose body or query names another object.
FIELD_CASES = {
    "clients/coupons linked": lambda own, ids: ("GET", "/clients/coupons/",
                                                {"params": {"type": "linked", "token": ids["instance_token"]}}),
    "clients/coupons shared": lambda own, ids: ("GET", "/clients/coupons/",
                                                {"params": {"type": "shared", "token": ids["share_token"]}}),
    "clients/coupons merchant": lambda own, ids: ("GET", "/clients/coupons/",
                                                  {"params": {"type": "merchant", "token": ids["merchant_token"]}}),
    "clients/coupons merchant share": lambda own, ids: (
        "GET", "/clients/coupons/", {"params": {"type": "merchant", "token": ids["merchant_share_token"]}}),
    "share redeem by shareToken": lambda own, ids: (
        "PUT", "/coupons/share/redeem/", {"params": {"token": ids["share_token"], "phone": own.clients[1]["phone"]}}),
    "share redeem by merchantShareToken": lambda own, ids: (
        "PUT", "/coupons/share/redeem/",
        {"params": {"token": ids["merchant_share_token"], "phone": own.clients[1]["phone"]}}),
    "sale with a coupon": lambda own, ids: (
        "POST", "/fiscal/orders/", j(sale(ext="tenant-coupon", phone=own.clients[0]["phone"],
                                          coupons=[ids["instance"]]))),
    "refund of an item": lambda own, ids: ("POST", "/fiscal/orders/", j(refund([{"id": ids["item"]}], ext="tenant-refund"))),
    "create_test with a coupon": lambda own, ids: (
        "POST", "/fiscal/orders/create_test/", j(sale(phone=own.clients[0]["phone"], coupons=[ids["instance"]]))),
    "create_test refund": lambda own, ids: (
        "POST", "/fiscal/orders/create_test/", j(refund([{"id": ids["item"]}], ext="tenant-refund-test"))),
    "hold of a client": lambda own, ids: (
        "POST", "/fiscal_hub/cash_back/hold/", j({"clientId": ids["client"], "currency": "points", "amount": 1})),
    "hold of a coupon": lambda own, ids: (
        "POST", "/fiscal_hub/cash_back/hold/", j({"clientId": own.clients[0]["id"], "currency": "points",
                                                  "amount": 1, "couponIds": [ids["instance"]]})),
    "hold write-off": lambda own, ids: (
        "POST", "/fiscal_hub/cash_back/hold/write_off/", j({"transactionId": ids["hold_tx"], "fiscalOrderId": "t"})),
    "hold write-off of a written-off hold": lambda own, ids: (
        "POST", "/fiscal_hub/cash_back/hold/write_off/",
        j({"transactionId": ids["hold_done_tx"], "fiscalOrderId": "t"})),
    "hold cancel": lambda own, ids: ("POST", "/fiscal_hub/cash_back/hold/cancel/", j({"transactionId": ids["hold_tx"]})),
    "hold cancel of a written-off hold": lambda own, ids: (
        "POST", "/fiscal_hub/cash_back/hold/cancel/", j({"transactionId": ids["hold_done_tx"]})),
    "fiscal hub refund": lambda own, ids: ("POST", "/fiscal_hub/cash_back/refund/", j({"orderItems": [ids["item"]]})),
    "write-off of a coupon": lambda own, ids: (
        "POST", f"/clients/{own.clients[0]['id']}/balance/write_off/", j({"coupons": [ids["instance"]]})),
    "issue a catalog coupon": lambda own, ids: (
        "POST", f"/clients/{own.clients[0]['id']}/coupons/", j({"couponId": ids["catalog"]})),
    "settings rule coupon": lambda own, ids: (
        "PUT", "/loyalty/settings/", j({"customerSettings": rule("amount", 5, None, ids["catalog"])})),
    "new customer rule coupon": lambda own, ids: (
        "PUT", "/loyalty/settings/", j({"newCustomerSettings": rule("amount", 50, None, ids["catalog"])})),
    "sale point update": lambda own, ids: (
        "PUT", "/loyalty/settings/sale_points/",
        j([dict(sp) for sp in own.sale_points] + [{"id": ids["sale_point"], "city": "taken", "address": "over"}])),
    "api key of an employee": lambda own, ids: ("POST", "/api_keys/", j({"accountId": ids["employee"]})),
    "orders of a client": lambda own, ids: ("GET", "/fiscal/orders/", {"params": {"client_id": ids["client"]}}),
}


def call(api, method, path, kw):
    kw = copy.deepcopy(kw)
    return api.s.request(method, api.url(path), **kw)


def normalized(r, ids):
    """The answer with what must differ taken out: timestamp, path, and the id or token named in
    the message."""
    try:
        body = loads(r.text)
    except ValueError:
        body = r.text
    if isinstance(body, dict) and "timestamp" in body:
        body.pop("timestamp")
        body.pop("path", None)
        msg = body.get("message", "")
        # ids of different kinds may coincide (client 3, coupon 3): any id or token is one mark
        msg = re.sub(r"(?<![0-9a-f-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f-])",
                     "{token}", msg)
        msg = re.sub(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])", "{token}", msg)
        msg = re.sub(r"(?<![0-9])[0-9]+(?![0-9])", "{n}", msg)
        body["message"] = msg
    headers = {k.lower(): v for k, v in r.headers.items()
               if k.lower() in ("content-type", "www-authenticate", "allow", "retry-after")}
    return r.status_code, headers, body


def routes_with_names():
    p = run_cli("routes")
    assert p.returncode == 0, p.stderr
    return [ln.strip() for ln in p.stdout.splitlines() if "{" in ln]


def test_every_route_with_an_id_is_in_the_matrix():
    missing = [r for r in routes_with_names() if r not in PATH_CASES and r not in PUBLIC_PATH_ROUTES]
    assert not missing, f"routes with an id or token that the tenant matrix does not call: {missing}"
    stale = [r for r in list(PATH_CASES) + list(PUBLIC_PATH_ROUTES) if r not in routes_with_names()]
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def run_matrix(tenv, cases, roles=("owner", "manager", "cashier")):
    """Calls every case as each role of each merchant, with each other merchant's ids and with
    UNKNOWN, and compares. Returns the number of foreign calls."""
    before = {w.n: w.snapshot() for w in tenv.worlds}
    mismatches, calls = [], 0
    for own in tenv.worlds:
        for role in roles:
            api = own.api[role]
            for name, build in cases:
                method, path, kw = build(own, UNKNOWN)
                want = normalized(call(api, method, path, kw), UNKNOWN)
                for other in tenv.worlds:
                    if other is own:
                        continue
                    method, path, kw = build(own, other.ids)
                    r = call(api, method, path, kw)
                    calls += 1
                    got = normalized(r, other.ids)
                    if got != want:
                        mismatches.append(f"{name} as merchant {own.n} {role} with merchant {other.n}'s ids:"
                                          f"\n  foreign: {got}\n  unknown: {want}" + describe(r))
                    # the caller's own answer must not depend on which merchant's ids it was
                    assert r.status_code < 500, describe(r)
    assert not mismatches, f"{len(mismatches)} answers differ from unknown ids:\n" + "\n".join(mismatches[:8])
    after = {w.n: w.snapshot() for w in tenv.worlds}
    for w in tenv.worlds:
        for path in before[w.n]:
            assert after[w.n][path] == before[w.n][path], f"merchant {w.n}'s {path} changed"
    return calls


def test_path_ids_of_other_merchants_answer_like_unknown_ids(tenv):
    cases = [(route, b) for route, builds in PATH_CASES.items() for b in builds]
    calls = run_matrix(tenv, cases)
    assert calls == len(cases) * 3 * 3 * 2
    print(f"\ntenant matrix, path ids: {len(cases)} cases, {calls} foreign calls")


def test_body_and_query_ids_of_other_merchants_answer_like_unknown_ids(tenv):
    cases = list(FIELD_CASES.items())
    calls = run_matrix(tenv, cases)
    print(f"\ntenant matrix, body and query ids: {len(cases)} cases, {calls} foreign calls")


def foreign_ids(tenv, own):
    out = {"client": set(), "order": set(), "catalog": set(), "instance": set(), "employee": set(),
           "api_key": set(), "sale_point": set(), "item": set(), "tx": set()}
    for w in tenv.worlds:
        if w is own:
            continue
        out["client"].update(c["id"] for c in w.clients)
        out["order"].update(o["id"] for o in (w.sale, w.sale2, w.refund, w.cashier_sale))
        out["catalog"].update((w.cat["id"], w.cat_img["id"]))
        out["instance"].update((w.inst["id"], w.inst_shared["id"], w.inst_held["id"]))
        out["employee"].update((w.manager["id"], w.cashier["id"]))
        out["api_key"].add(w.key["id"])
        out["sale_point"].update(sp["id"] for sp in w.sale_points)
        out["tx"].update((w.hold["transactionId"], w.hold_done["transactionId"]))
    return out


def test_lists_never_show_another_merchants_rows(tenv):
    lists = 0
    for own in tenv.worlds:
        foreign = foreign_ids(tenv, own)
        other_clients = [c for w in tenv.worlds if w is not own for c in w.clients]
        for role in ("owner", "manager", "cashier"):
            api = own.api[role]
            searches = [{}, {"limit": 1000}, {"phone": "%"}, {"email": "%"}, {"phone": "7%"},
                        {"email": "%@example.com"}, {"phone": "7%", "email": "%"}, {"offset": 1, "limit": 1000}]
            for c in other_clients:
                searches += [{"phone": c["phone"]}, {"email": c["email"]}, {"phone": c["phone"][:3] + "%"}]
            for params in searches:
                found = body_of(api.get("/clients/", params=params))
                lists += 1
                assert not {c["id"] for c in found} & foreign["client"], (own.n, role, params)
            for params in ({}, {"limit": 1000}, {"receipt_type": "sale"}, {"receipt_type": "refund"},
                           {"fn": "%"}, {"fd": "%"}, {"from": 0, "to": 2 ** 53}):
                orders = body_of(api.get("/fiscal/orders/", params=params))
                lists += 1
                assert not {o["id"] for o in orders} & foreign["order"], (own.n, role, params)
                assert not {o["customer"]["id"] for o in orders if o.get("customer")} & foreign["client"]
            for c in other_clients:
                r = api.get("/fiscal/orders/", params={"client_id": c["id"]})
                assert body_of(r) == [], describe(r)
            cat = body_of(api.get("/loyalty/coupons/", params={"limit": 1000}))
            lists += 1
            assert not {c["id"] for c in cat} & foreign["catalog"]
            sps = body_of(api.get("/loyalty/settings/sale_points/"))
            assert not {s["id"] for s in sps} & foreign["sale_point"]
            for c in own.clients:
                inst = body_of(api.get(f"/clients/{c['id']}/coupons/"))
                assert not {i["id"] for i in inst} & foreign["instance"]
                hist = body_of(api.get(f"/clients/{c['id']}/balance/history/", params={"limit": 1000}))
                assert not {h.get("orderId") for h in hist} & foreign["order"]
                lists += 2
        for path, kind in (("/employees/", "employee"), ("/api_keys/", "api_key")):
            rows = body_of(own.api["owner"].get(path))
            lists += 1
            assert rows and not {x["id"] for x in rows} & foreign[kind], (own.n, path)
    print(f"\ntenant lists: {lists} list calls, no foreign row")


def test_join_qr_code_is_the_callers_own(tenv):
    """GET .../contact_info/join-qr.svg names no object: each merchant's staff, of every role,
    get the QR code of their own merchant's join link, never another's."""
    urls = {w.n: body_of(w.api["owner"].get("/loyalty/settings/contact_info/"))["joinURL"] for w in tenv.worlds}
    assert len(set(urls.values())) == len(tenv.worlds)
    for w in tenv.worlds:
        for role in ("owner", "manager", "cashier"):
            r = w.api[role].get("/loyalty/settings/contact_info/join-qr.svg")
            assert r.status_code == 200, describe(r)
            assert qrsvg.decode(r.text) == [urls[w.n]], (w.n, role)


def test_receipt_page_by_token(tenv):
    """The receipt page is public: the order's token is the capability. Any other merchant
    object's token (a client's, a coupon's) answers like an unknown token."""
    s = Session()
    root = f"http://127.0.0.1:{tenv.server.port}"
    unknown_get = s.get(f"{root}/r/{UNKNOWN['order_token']}")
    unknown_post = s.post(f"{root}/r/{UNKNOWN['order_token']}", data={"reaction": "positive"})
    assert unknown_get.status_code == 404 and unknown_post.status_code == 404
    for w in tenv.worlds:
        body_of(w.api["owner"].get(f"/fiscal/orders/{w.sale['id']}/items/"))
        r = s.get(f"{root}/r/{w.ids['order_token']}")
        assert r.status_code == 200, describe(r)
        for tok in (w.ids["client_token"], w.ids["instance_token"], w.ids["share_token"]):
            g = s.get(f"{root}/r/{tok}")
            p = s.post(f"{root}/r/{tok}", data={"reaction": "negative"})
            assert normalized(g, {}) == normalized(unknown_get, {}), describe(g)
            assert normalized(p, {}) == normalized(unknown_post, {}), describe(p)


def test_card_page_by_token(tenv):
    """The card page is public: the client's token is the capability, and shows that client
    alone. Any other merchant object's token (an order's, a coupon's) answers like an unknown
    token."""
    s = Session()
    root = f"http://127.0.0.1:{tenv.server.port}"
    unknown = s.get(f"{root}/c/{UNKNOWN['client_token']}")
    assert unknown.status_code == 404
    for w in tenv.worlds:
        r = s.get(f"{root}/c/{w.ids['client_token']}")
        assert r.status_code == 200 and w.ids["client_token"] in r.text, describe(r)
        for other in tenv.worlds:
            if other is not w:
                assert other.ids["client_token"] not in r.text
        for tok in (w.ids["order_token"], w.ids["instance_token"], w.ids["share_token"]):
            g = s.get(f"{root}/c/{tok}")
            assert g.status_code == 404 and g.text == unknown.text, describe(g)
        # This server signs no passes: every card's pass is the same 404.
        p = s.get(f"{root}/c/{w.ids['client_token']}/pass.pkpass")
        assert p.status_code == 404 and "not configured" in p.json()["message"], describe(p)


def test_media_route(tenv):
    """Media files are public by their 128-bit random name (docs/API.md, "Images"); an unknown name
    of the same shape is 404, and another merchant cannot replace or remove one (covered by the
    image routes of the path matrix)."""
    s = Session()
    root = f"http://127.0.0.1:{tenv.server.port}"
    for w in tenv.worlds:
        path = body_of(w.api["owner"].get(f"/loyalty/coupons/{w.cat_img['id']}/"))["imagePath"]
        assert s.get(root + path).status_code == 200
    assert s.get(f"{root}/ext/api/v1/media/{'0' * 32}.png").status_code == 404


def fresh_ids(own):
    """The caller's ids with a new catalog coupon and new instances, so that an earlier case
    (a delete, a redemption) does not leave the next one nothing to reach."""
    o = own.api["owner"]
    ids = dict(own.ids)
    cat = o.catalog_coupon()
    inst = o.issue(own.clients[0]["id"], cat["id"])
    shared = o.issue(own.clients[0]["id"], cat["id"])
    ids.update(erasable=o.create_client(phone=new_phone())["id"])
    ids.update(catalog=cat["id"], instance=inst["id"], instance_token=inst["token"],
               merchant_token=inst["merchantToken"], share_token=shared["shareToken"],
               merchant_share_token=shared["merchantShareToken"])
    return ids


def test_every_case_reaches_the_object_with_its_own_ids(tenv):
    """The matrix has teeth: with the caller's own ids every case answers otherwise than with an
    unknown id (so an equal answer for a foreign id means "not found", not "not looked at").
    Runs last: it changes the merchants' data."""
    toothless = []
    cases = [(route, b) for route, builds in PATH_CASES.items() for b in builds] + list(FIELD_CASES.items())
    for name, build in cases:
        own = tenv.worlds[0]
        api = own.api["owner"]
        want = normalized(call(api, *build(own, UNKNOWN)), UNKNOWN)
        ids = fresh_ids(own)
        got = normalized(call(api, *build(own, ids)), ids)
        if got == want:
            toothless.append(name)
    assert not toothless, f"cases that answer the same for the caller's own ids as for unknown ones: {toothless}"
