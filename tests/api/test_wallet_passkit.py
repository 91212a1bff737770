"""Apple Wallet passes that update themselves (issue 15): the PassKit web service under /wallet/v1/
(register, unregister, the serials updated since a tag, the latest pass, the log) with good and
bad tokens and bad input, and the pushes: after an order the local HTTP/2 stand-in for APNs
(apns_standin.py) receives an empty push for the client's device with the pass type as topic;
APNs's 410 drops the registration; a stand-in that is down is retried until it is up; and a
kopilkad killed with SIGKILL between the order and the push pushes it after its restart (the
queue row was written in the order's transaction)."""
import io
import json
import signal
import time
import zipfile

import pytest

from apns_standin import ApnsStandIn
from conftest import DEFAULT_SERVE_FLAGS, Server, Session, assert_error, free_port, new_phone, rule, sale
from test_wallet_apple import PASS_TYPE_ID, certs, fields, root, wallet_flags  # noqa: F401 (certs: a fixture)

PUSH_TOKEN = "ab" * 32
DEVICE = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def passkit_flags(certs, apns_port, *extra):
    return (*DEFAULT_SERVE_FLAGS, *wallet_flags(certs), "--wallet-allow-http", "1",
            "--apns-url", f"http://127.0.0.1:{apns_port}", "--apns-period-ms", "50",
            "--apns-retry-base-ms", "200", *extra)


@pytest.fixture
def apns():
    s = ApnsStandIn(free_port()).start()
    yield s
    s.stop()


def setup_client(env):
    A = env.a
    A.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
               newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    client = A.create_client(phone=phone, name="Анна")
    return phone, client


def pass_json(content):
    return json.loads(zipfile.ZipFile(io.BytesIO(content)).read("pass.json"))


def download(env, token):
    r = Session().get(f"{root(env)}/c/{token}/pass.pkpass")
    assert r.status_code == 200, r.text
    return pass_json(r.content)


def ws(env, path):
    return f"{root(env)}/wallet/v1{path}"


def auth(token):
    return {"Authorization": f"ApplePass {token}"}


def register(env, serial, token, device=DEVICE, push_token=PUSH_TOKEN):
    return Session().post(ws(env, f"/devices/{device}/registrations/{PASS_TYPE_ID}/{serial}"),
                          json={"pushToken": push_token}, headers=auth(token))


def serials(env, device=DEVICE, since=None):
    q = "" if since is None else f"?passesUpdatedSince={since}"
    return Session().get(ws(env, f"/devices/{device}/registrations/{PASS_TYPE_ID}{q}"))


def registered_pass(env, client):
    p = download(env, client["token"])
    assert register(env, p["serialNumber"], p["authenticationToken"]).status_code == 201
    return p


def test_web_service_with_good_and_bad_tokens(make_env, certs, apns):
    env = make_env(*passkit_flags(certs, apns.port))
    phone, client = setup_client(env)
    p = download(env, client["token"])
    serial, token = p["serialNumber"], p["authenticationToken"]
    assert p["webServiceURL"] == "http://127.0.0.1:8080/wallet"  # --public-url's default + /wallet
    assert len(token) >= 16 and token != client["token"]
    points = fields(p["storeCard"]["primaryFields"])["points"]
    assert "%@" in points["changeMessage"]
    # Another client's pass has another token.
    other = env.a.create_client(phone=new_phone())
    other_pass = download(env, other["token"])
    assert other_pass["authenticationToken"] != token

    # Register: 201 new, 200 known; the token is the pass's own.
    assert register(env, serial, token).status_code == 201
    assert register(env, serial, token).status_code == 200
    assert_error(register(env, serial, other_pass["authenticationToken"]), 401, code="unauthorized")
    assert_error(register(env, serial, token[:-1] + ("0" if token[-1] != "0" else "1")), 401)
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}"),
                       json={"pushToken": PUSH_TOKEN})
    assert "ApplePass" in assert_error(r, 401)["message"]
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}"),
                       json={"pushToken": PUSH_TOKEN}, headers={"Authorization": f"Bearer {token}"})
    assert_error(r, 401)
    # An unknown client's serial is a bad token, not a hint.
    assert_error(register(env, f"{env.merchant_a}-999999", token), 401)
    assert_error(register(env, f"{env.merchant_b}-{client['id']}", token), 401)
    # Bad input.
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/pass.other.type/{serial}"),
                       json={"pushToken": PUSH_TOKEN}, headers=auth(token))
    assert "passTypeIdentifier" in assert_error(r, 404, code="not_found")["message"]
    assert "serialNumber" in assert_error(register(env, "abc", token), 400)["message"]
    assert "serialNumber" in assert_error(register(env, "0-1", token), 400)["message"]
    assert "deviceLibraryIdentifier" in assert_error(register(env, serial, token, device="dev!ce"), 400)["message"]
    assert "pushToken" in assert_error(register(env, serial, token, push_token="not hex"), 400)["message"]
    assert "pushToken" in assert_error(register(env, serial, token, push_token=""), 400)["message"]
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}"),
                       json={}, headers=auth(token))
    assert "pushToken" in assert_error(r, 400)["message"]
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}"),
                       data="{", headers={**auth(token), "Content-Type": "application/json"})
    assert_error(r, 400, code="malformed_json")
    r = Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}"),
                       data='{"pushToken":"' + "a" * (1024 * 1024 + 10) + '"}',
                       headers={**auth(token), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert_error(Session().post(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}"),
                                json={"pushToken": PUSH_TOKEN}, headers=auth(token)), 404)

    # The serials of the device: all before any change (the tag 0), 204 for another device.
    r = serials(env)
    assert r.status_code == 200, r.text
    assert r.json() == {"serialNumbers": [serial], "lastUpdated": "0"}
    assert serials(env, device="ffff0000").status_code == 204
    assert "passesUpdatedSince" in assert_error(serials(env, since="yesterday"), 400)["message"]
    assert_error(Session().get(ws(env, f"/devices/{DEVICE}/registrations/pass.other.type")), 404)

    # The latest pass: the token's, never another's.
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"), headers=auth(token))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/vnd.apple.pkpass"
    assert pass_json(r.content)["serialNumber"] == serial
    assert "Last-Modified" not in r.headers  # never changed since the device registered
    assert_error(Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}")), 401)
    assert_error(Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"),
                               headers=auth(other_pass["authenticationToken"])), 401)
    assert_error(Session().get(ws(env, f"/passes/pass.other.type/{serial}"), headers=auth(token)), 404)

    # An order: the stand-in receives an empty push for the device with the pass type as topic.
    before = env.a.balance(client["id"])
    env.a.order(sale(phone=phone, items=[{"name": "Капучино", "price": 250, "quantity": 2}]))
    push = apns.wait_push(PUSH_TOKEN)[0]
    assert push["method"] == "POST"
    assert push["headers"]["apns-topic"] == PASS_TYPE_ID
    assert json.loads(push["body"]) == {}
    # The device asks what changed: this pass, with a new tag; nothing since that tag.
    r = serials(env, since=0)
    assert r.status_code == 200 and r.json()["serialNumbers"] == [serial]
    tag = r.json()["lastUpdated"]
    assert int(tag) > 0
    assert serials(env, since=tag).status_code == 204
    # The latest pass shows the new balance; as old as If-Modified-Since it is a 304.
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"), headers=auth(token))
    assert r.status_code == 200
    balance = env.a.balance(client["id"])
    assert balance > before
    assert fields(pass_json(r.content)["storeCard"]["primaryFields"])["points"]["value"] == f"{balance.normalize():f}"
    modified = r.headers["Last-Modified"]
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"),
                      headers={**auth(token), "If-Modified-Since": modified})
    assert r.status_code == 304 and r.content == b""
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"),
                      headers={**auth(token), "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert r.status_code == 200
    # A second change moves the tag and Last-Modified on.
    env.a.order(sale(phone=phone, items=[{"name": "Чай", "price": 100, "quantity": 1}]))
    apns.wait_push(PUSH_TOKEN, n=2)
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"),
                      headers={**auth(token), "If-Modified-Since": modified})
    assert r.status_code == 200 and r.headers["Last-Modified"] != modified
    assert int(serials(env, since=tag).json()["lastUpdated"]) > int(tag)

    # The log: written to the server's log, bounded; a body of another shape is refused.
    r = Session().post(ws(env, "/log"), json={"logs": ["passkit test line", 5, "x" * 5000]})
    assert r.status_code == 200, r.text
    assert_error(Session().post(ws(env, "/log"), json={"logs": "one"}), 400)
    assert_error(Session().post(ws(env, "/log"), json={}), 400)
    log = open(env.server.log_path, encoding="utf-8", errors="replace").read()
    assert "a device logs: passkit test line" in log
    assert "x" * 5000 not in log and "x" * 500 in log
    assert token not in log

    # Unregister: the token's; then the device has no passes.
    url = ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{serial}")
    assert_error(Session().delete(url, headers=auth(other_pass["authenticationToken"])), 401)
    assert_error(Session().delete(url), 401)
    assert Session().delete(url, headers=auth(token)).status_code == 200
    assert serials(env).status_code == 204
    # Without a device the next order queues nothing.
    n = len(apns.pushes_to(PUSH_TOKEN))
    env.a.order(sale(phone=phone, items=[{"name": "Чай", "price": 100, "quantity": 1}]))
    r = Session().get(ws(env, f"/passes/{PASS_TYPE_ID}/{serial}"), headers=auth(token))
    assert r.status_code == 200
    assert len(apns.pushes_to(PUSH_TOKEN)) == n


def test_without_https_or_the_setting_there_is_no_web_service(make_env, certs):
    env = make_env(*DEFAULT_SERVE_FLAGS, *wallet_flags(certs))  # --public-url is http://
    _, client = setup_client(env)
    assert "webServiceURL" not in download(env, client["token"])
    r = Session().get(ws(env, f"/devices/{DEVICE}/registrations/{PASS_TYPE_ID}"))
    assert "web service is off" in assert_error(r, 404)["message"]


def test_a_gone_device_is_dropped(make_env, certs, apns):
    env = make_env(*passkit_flags(certs, apns.port))
    phone, client = setup_client(env)
    p = registered_pass(env, client)
    apns.status_for[PUSH_TOKEN] = 410
    env.a.order(sale(phone=phone))
    apns.wait_push(PUSH_TOKEN)
    for _ in range(200):
        if serials(env).status_code == 204:
            break
        time.sleep(0.05)
    assert serials(env).status_code == 204, f"the registration of {p['serialNumber']} APNs called unregistered stays"


def test_a_push_is_retried_until_apns_is_up(make_env, certs):
    port = free_port()
    env = make_env(*passkit_flags(certs, port))
    phone, client = setup_client(env)
    registered_pass(env, client)
    env.a.order(sale(phone=phone))
    apns = ApnsStandIn(port)
    try:
        # The worker fails against the closed port and retries with backoff; once the
        # stand-in listens the push arrives.
        time.sleep(0.5)
        apns.start()
        apns.wait_push(PUSH_TOKEN, timeout=60)
    finally:
        apns.stop()
    log = open(env.server.log_path, encoding="utf-8", errors="replace").read()
    assert "pass update push of client" in log and "failed" in log


def test_a_push_survives_sigkill(make_env, certs, apns):
    # The worker polls once at start and then sleeps 10 minutes: the order's push waits in the
    # queue until kopilkad is killed and started again.
    env = make_env(*passkit_flags(certs, apns.port, "--apns-period-ms", "600000"))
    phone, client = setup_client(env)
    registered_pass(env, client)
    env.a.order(sale(phone=phone))
    assert apns.pushes_to(PUSH_TOKEN) == []
    env.server.proc.send_signal(signal.SIGKILL)
    env.server.proc.wait(timeout=10)
    env.server = Server(env.db, env.tmp, passkit_flags(certs, apns.port)).start()
    push = apns.wait_push(PUSH_TOKEN, timeout=60)[0]
    assert push["headers"]["apns-topic"] == PASS_TYPE_ID


def test_coupons_and_corrections_push_too(make_env, certs, apns):
    """Not only sales: a coupon issued and a manual correction each queue the client's update;
    another client's change pushes nothing to this device."""
    env = make_env(*passkit_flags(certs, apns.port))
    _, client = setup_client(env)
    registered_pass(env, client)
    A = env.a
    coupon = A.catalog_coupon(title="Кофе в подарок", validDays=30)
    A.issue(client["id"], coupon["id"])
    apns.wait_push(PUSH_TOKEN, n=1)
    r = A.post(f"/clients/{client['id']}/balance/adjust/", {"amount": 15, "reason": "компенсация"})
    assert r.status_code in (200, 201), r.text
    apns.wait_push(PUSH_TOKEN, n=2)
    p = download(env, client["token"])
    assert fields(p["storeCard"]["secondaryFields"])["coupons"]["value"] == 1
    assert fields(p["storeCard"]["primaryFields"])["points"]["value"] == "15"
    n = len(apns.pushes_to(PUSH_TOKEN))
    other = A.create_client(phone=new_phone())
    r = A.post(f"/clients/{other['id']}/balance/adjust/", {"amount": 5, "reason": "другой"})
    assert r.status_code in (200, 201), r.text
    # The other client's change is done when its balance shows; this device got nothing more.
    assert A.balance(other["id"]) == 5
    assert len(apns.pushes_to(PUSH_TOKEN)) == n


def test_an_erased_client_has_no_pass_left(make_env, certs, apns):
    # Personal data on request: the erasure drops the devices its pass was registered on (their
    # push tokens) and its queued updates; the old pass's token no longer authenticates.
    env = make_env(*passkit_flags(certs, apns.port, "--apns-period-ms", "600000"))
    phone, client = setup_client(env)
    p = registered_pass(env, client)
    env.a.order(sale(phone=phone))  # an update queued, not yet sent (the worker sleeps)
    assert serials(env).status_code == 200
    r = env.a.post(f"/clients/{client['id']}/erase/", {"confirm": client["id"]})
    assert r.status_code == 200, r.text
    assert serials(env).status_code == 204
    assert_error(register(env, p["serialNumber"], p["authenticationToken"]), 401)
    # Nothing is left to push after a restart either.
    env.server.stop()
    env.server = Server(env.db, env.tmp, passkit_flags(certs, apns.port)).start()
    env.a.order(sale(phone=new_phone()))  # another client: the worker runs a round
    time.sleep(0.5)
    assert apns.pushes_to(PUSH_TOKEN) == []
