"""Google Wallet cards that update themselves (issue 15): a customer who followed the card's
"Add to Google Wallet" link has each later balance change of theirs set on their saved
LoyaltyObject through Google Wallet's REST API, from the durable card_updates queue the change's
own transaction writes. Google is a local stub here (--gwallet-api-url, --gwallet-token-url):
the token request is the service account's JWT bearer grant, the PATCH carries the balance the
API answers; a client who never followed the link costs nothing; an API that fails is retried
until it answers; a card not saved (404) is not retried; and a kopilkad killed between the order
and the update sends it after its restart (docs/CARD.md, "Google Wallet")."""
import json
import signal
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from conftest import DEFAULT_SERVE_FLAGS, Server, Session, free_port, new_phone, rule, sale
from test_wallet_google import ISSUER, b64url, keys, root  # noqa: F401 (keys: a fixture)


class GoogleStub:
    """The token endpoint (/token) and the Wallet API's loyaltyObject PATCH, recording what
    they get. status: what the PATCH answers (a list is used up first, then its last)."""

    def __init__(self, port):
        self.port = port
        self.tokens = []  # the form of each token request
        self.patches = []  # (object id, body, Authorization)
        self.status = [200]
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def body(self):
                return self.rfile.read(int(self.headers.get("Content-Length", "0")))

            def answer(self, status, doc):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                form = parse_qs(self.body().decode())
                with stub.lock:
                    stub.tokens.append(form)
                self.answer(200, {"access_token": f"ya29.t{len(stub.tokens)}", "expires_in": 3599,
                                  "token_type": "Bearer"})

            def do_PATCH(self):
                prefix = "/walletobjects/v1/loyaltyObject/"
                body = json.loads(self.body())
                with stub.lock:
                    stub.patches.append((self.path[len(prefix):], body, self.headers.get("Authorization")))
                    status = stub.status.pop(0) if len(stub.status) > 1 else stub.status[0]
                self.answer(status, body if status == 200 else {"error": {"code": status}})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wait_patches(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.patches) >= n:
                    return list(self.patches)
            time.sleep(0.05)
        pytest.fail(f"{n} PATCHes expected, {len(self.patches)} arrived: {self.patches}")


@pytest.fixture
def google():
    s = GoogleStub(free_port()).start()
    yield s
    s.stop()


def flags(keys, port, *extra):
    return (*DEFAULT_SERVE_FLAGS, "--gwallet-issuer-id", ISSUER, "--gwallet-service-account", keys["account"],
            "--gwallet-api-url", f"http://127.0.0.1:{port}", "--gwallet-token-url",
            f"http://127.0.0.1:{port}/token", "--apns-period-ms", "50", "--apns-retry-base-ms", "200", *extra)


def follow(env, token):
    r = Session().get(f"{root(env)}/c/{token}/gwallet", allow_redirects=False)
    assert r.status_code == 303, (r.status_code, r.text)


def new_client(env):
    env.a.settings(active=True, currency="points", customerSettings=rule("percentage", 10),
                   newCustomerSettings=rule("percentage", 10))
    phone = new_phone()
    return phone, env.a.create_client(phone=phone, name="Анна")


def buy(env, phone, price):
    env.a.order(sale(phone=phone, items=[{"name": "Кофе", "price": price, "quantity": 1}]))


def shown(patch):
    """The balance a PATCH sets, as a Decimal."""
    return Decimal(patch[1]["loyaltyPoints"]["balance"]["string"])


def test_a_followed_card_gets_the_new_balance(make_env, keys, google):
    env = make_env(*flags(keys, google.port))
    phone, client = new_client(env)
    never = env.a.create_client(phone=new_phone())  # never follows the link
    follow(env, client["token"])
    follow(env, client["token"])  # twice: still one card
    buy(env, phone, 1000)
    buy(env, never["phone"], 1000)
    patches = google.wait_patches(1)
    object_id, body, auth = patches[-1]
    assert object_id == f"{ISSUER}.kopilka-m{env.merchant_a}-c{client['id']}"
    assert auth.startswith("Bearer ya29.")
    assert shown(patches[-1]) == env.a.balance(client["id"]) > 0, body
    # The token request: the JWT bearer grant with the service account's assertion.
    form = google.tokens[0]
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = json.loads(b64url(form["assertion"][0].split(".")[1]))
    assert claims["aud"] == f"http://127.0.0.1:{google.port}/token"
    assert claims["scope"] == "https://www.googleapis.com/auth/wallet_object.issuer"
    # A second change: the next balance, the token kept.
    buy(env, phone, 500)
    patches = google.wait_patches(2)
    assert shown(patches[-1]) == env.a.balance(client["id"]) > shown(patches[0])
    assert len(google.tokens) == 1
    time.sleep(0.3)  # a few worker rounds: the client who never followed got nothing
    assert all(p[0].endswith(f"-c{client['id']}") for p in google.patches), google.patches


def test_failures_are_retried_and_a_card_not_saved_is_not(make_env, keys, google):
    env = make_env(*flags(keys, google.port))
    phone, client = new_client(env)
    follow(env, client["token"])
    google.status = [503, 500, 200]
    buy(env, phone, 1000)
    patches = google.wait_patches(3)
    assert [shown(p) for p in patches] == [env.a.balance(client["id"])] * 3
    # Not saved (404): done, not tried again.
    google.status = [404]
    buy(env, phone, 1000)
    google.wait_patches(4)
    time.sleep(1.0)  # past the first retry's wait (--apns-retry-base-ms 200)
    assert len(google.patches) == 4


def test_an_update_survives_sigkill(make_env, keys, google):
    # The worker polls once at start and then sleeps 10 minutes: the order's update waits in
    # the queue until kopilkad is killed and started again.
    env = make_env(*flags(keys, google.port, "--apns-period-ms", "600000"))
    phone, client = new_client(env)
    follow(env, client["token"])
    buy(env, phone, 1000)
    assert google.patches == []
    env.server.proc.send_signal(signal.SIGKILL)
    env.server.proc.wait(timeout=10)
    env.server = Server(env.db, env.tmp, flags(keys, google.port)).start()
    assert shown(google.wait_patches(1)[0]) == env.a.balance(client["id"]) > 0
