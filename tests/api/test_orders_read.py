"""GET /fiscal/orders/ with its filters, GET /fiscal/orders/{id}/items/, and reactions
(API.md 4.2, 6). A cashier sees only the orders they created."""
from conftest import (Session, assert_error, body_of, new_phone, refund, rule, sale, uniq)


def post(A, **kw):
    return A.order(sale(**kw))


def with_fd(body, fn, fd):
    body["order"]["fn"] = fn
    body["order"]["fd"] = fd
    return body


def test_list_filters_and_order(A, B):
    phone = new_phone()
    tag = uniq("fn")[-6:]
    first = A.order(with_fd(sale(phone=phone), f"{tag}_1", "100"))
    second = A.order(with_fd(sale(phone=phone), f"{tag}x1", "200"))
    third = A.order(with_fd(sale(), f"{tag}_2", "300"))
    listed = body_of(A.get(f"/fiscal/orders/?fn={tag}%25"))
    assert [o["id"] for o in listed] == [third["id"], second["id"], first["id"]]  # newest first
    # '_' matches itself, '%' anything
    assert [o["id"] for o in body_of(A.get(f"/fiscal/orders/?fn={tag}_%25"))] == [third["id"], first["id"]]
    assert [o["id"] for o in body_of(A.get(f"/fiscal/orders/?fn={tag}x1"))] == [second["id"]]
    assert [o["id"] for o in body_of(A.get(f"/fiscal/orders/?fn={tag}%25&fd=%250"))] == [third["id"], second["id"], first["id"]]
    cid = first["clientId"]
    by_client = body_of(A.get(f"/fiscal/orders/?client_id={cid}"))
    assert {o["id"] for o in by_client} == {first["id"], second["id"]}
    o = by_client[-1]
    assert o["customer"]["id"] == cid and o["customerPhone"] == phone and o["employee"] is None
    assert o["status"] == "completed" and o["reaction"] is None and o["receiptType"] == "sale"
    assert body_of(A.get(f"/fiscal/orders/?fn={tag}%25&limit=1&offset=1"))[0]["id"] == second["id"]
    t = first["orderDate"]
    assert first["id"] in [o["id"] for o in body_of(A.get(f"/fiscal/orders/?from={t}&to={t}"))]
    assert body_of(A.get(f"/fiscal/orders/?to={t - 1}&fn={tag}%25")) == []
    assert all(o["receiptType"] == "refund" for o in body_of(A.get("/fiscal/orders/?receipt_type=refund")))
    assert_error(A.get("/fiscal/orders/?receipt_type=void"), 400, field="receipt_type")
    assert_error(A.get("/fiscal/orders/?client_id=x"), 400, field="client_id")
    assert body_of(B.get(f"/fiscal/orders/?fn={tag}%25")) == []  # another merchant's: none


def test_items_status_and_tenancy(A, B):
    s = A.order(sale(phone=new_phone(), items=[{"name": "a", "price": 10, "quantity": 2, "vat": 20},
                                              {"name": "b", "price": 5, "quantity": 1, "unit": "kg"}]))
    items = body_of(A.get(f"/fiscal/orders/{s['id']}/items/"))
    assert [(i["name"], i["price"], i["quantity"], i["unit"], i["vat"]) for i in items] == \
        [("a", 10, 2, "piece", 20), ("b", 5, 1, "kg", None)]
    assert all(i["orderId"] == s["id"] and i["discountType"] is None for i in items)
    assert_error(B.get(f"/fiscal/orders/{s['id']}/items/"), 404, code="not_found")
    assert_error(A.get("/fiscal/orders/999999999/items/"), 404, code="not_found")
    A.order(refund([{"id": items[0]["id"]}]))
    status = {o["id"]: o["status"] for o in body_of(A.get(f"/fiscal/orders/?client_id={s['clientId']}"))}
    assert status[s["id"]] == "partially_refunded"
    A.order(refund([{"id": items[1]["id"]}]))
    listed = body_of(A.get(f"/fiscal/orders/?client_id={s['clientId']}"))
    assert {o["id"]: o["status"] for o in listed}[s["id"]] == "refunded"
    assert [o["receiptType"] for o in listed][:2] == ["refund", "refund"]


def test_cashier_sees_only_own_orders(env, A):
    email = f"{uniq('cash')}@example.com"
    emp = body_of(A.post("/employees/", {"email": email, "password": "cashier-pass", "role": "cashier"}), 201)
    cashier = Session((email, "cashier-pass"))
    own = body_of(cashier.post(env.url("/fiscal/orders/"), json=sale(phone=new_phone())))
    owners = A.order(sale(phone=new_phone()))
    seen = body_of(cashier.get(env.url("/fiscal/orders/")))
    assert [o["id"] for o in seen] == [own["id"]]
    assert seen[0]["employee"]["id"] == emp["id"] and seen[0]["employee"]["role"] == "cashier"
    assert body_of(cashier.get(env.url(f"/fiscal/orders/{own['id']}/items/")))
    assert_error(cashier.get(env.url(f"/fiscal/orders/{owners['id']}/items/")), 404)
    assert_error(cashier.post(env.url(f"/fiscal/orders/{owners['id']}/reaction/"),
                              json={"reaction": "positive"}), 404)
    assert own["id"] in [o["id"] for o in body_of(A.get("/fiscal/orders/"))]


def test_reactions_move_review_counts(A, B):
    s = A.order(sale(phone=new_phone()))
    cid = s["clientId"]

    def counts():
        c = body_of(A.get(f"/clients/{cid}/"))
        return c["positiveReviews"], c["neutralReviews"], c["negativeReviews"]

    r = body_of(A.post(f"/fiscal/orders/{s['id']}/reaction/", {"reaction": "positive", "comment": "Вкусно"}))
    assert r["reaction"] == "positive" and r["customerComment"] == "Вкусно"
    assert counts() == (1, 0, 0)
    body_of(A.post(f"/fiscal/orders/{s['id']}/reaction/", {"reaction": "negative"}))
    assert counts() == (0, 0, 1)
    body_of(A.post(f"/fiscal/orders/{s['id']}/reaction/", {"reaction": "negative"}))
    assert counts() == (0, 0, 1)
    assert_error(A.post(f"/fiscal/orders/{s['id']}/reaction/", {"reaction": "meh"}), 400, field="reaction")
    assert_error(A.post(f"/fiscal/orders/{s['id']}/reaction/", {}), 400, field="reaction")
    assert_error(B.post(f"/fiscal/orders/{s['id']}/reaction/", {"reaction": "positive"}), 404)
    anon = A.order(sale())
    assert body_of(A.post(f"/fiscal/orders/{anon['id']}/reaction/", {"reaction": "neutral"}))["reaction"] == "neutral"
