"""The public receipt page (API.md 6): GET /r/{token} shows the receipt, its form lets the
customer react once, the client's review counts follow."""
import requests

from conftest import Session, assert_error, body_of, new_phone, refund, sale


def root(env):
    return env.base.replace("/ext/api/v1", "")


def test_receipt_page_and_one_reaction(env, A, B):
    o = A.order(sale(phone=new_phone(), items=[{"name": "Капучино <большой>", "price": 250, "quantity": 1}]))
    token = o["publicURL"].rsplit("/", 1)[1]
    page = Session().get(f"{root(env)}/r/{token}")  # public: no credentials
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Капучино &lt;большой&gt;" in page.text and "250" in page.text
    assert f'action="/r/{token}"' in page.text and 'value="positive"' in page.text
    s = Session()
    r = s.post(f"{root(env)}/r/{token}", data={"reaction": "positive", "comment": "Очень вкусно"},
               allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/r/{token}"
    after = s.get(f"{root(env)}/r/{token}").text
    assert "Спасибо" in after and 'value="positive"' not in after
    client = body_of(A.get(f"/clients/{o['clientId']}/"))
    assert client["positiveReviews"] == 1
    listed = [x for x in body_of(A.get(f"/fiscal/orders/?client_id={o['clientId']}")) if x["id"] == o["id"]]
    assert listed[0]["reaction"] == "positive" and listed[0]["customerComment"] == "Очень вкусно"
    # once only
    assert_error(s.post(f"{root(env)}/r/{token}", data={"reaction": "negative"}), 409)
    assert body_of(A.get(f"/clients/{o['clientId']}/"))["negativeReviews"] == 0


def test_receipt_errors(env, A):
    o = A.order(sale(phone=new_phone()))
    token = o["publicURL"].rsplit("/", 1)[1]
    s = Session()
    assert_error(s.get(f"{root(env)}/r/{'0' * 32}"), 404)
    assert_error(s.get(f"{root(env)}/r/not-a-token"), 404)
    assert_error(s.post(f"{root(env)}/r/{token}", data={"reaction": "meh"}), 400, field="reaction")
    assert_error(s.post(f"{root(env)}/r/{token}", json={"reaction": "positive"}), 415)
    assert_error(s.post(f"{root(env)}/r/{token}", data="reaction=positive&comment=%ZZ",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    # a refund has no reaction form
    r = A.order(refund([{"id": o["items"][0]["id"]}]))
    rtoken = r["publicURL"].rsplit("/", 1)[1]
    assert 'name="reaction"' not in s.get(f"{root(env)}/r/{rtoken}").text
    assert_error(s.post(f"{root(env)}/r/{rtoken}", data={"reaction": "positive"}), 409)
