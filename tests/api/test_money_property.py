# Property: any money amount with 0 to 2 fraction digits posted as a price comes back printed
# exactly (API.md 1 "Money"): integer minor units inside, never binary floating point.
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_money, body_of, uniq

MAX_MINOR = 10**12 * 100  # 10^12 is the largest amount


@st.composite
def money_literals(draw):
    """A JSON literal for an amount with 0, 1 or 2 fraction digits, and its exact value."""
    digits = draw(st.sampled_from([0, 1, 2]))
    scale = 10 ** (2 - digits)
    minor = draw(st.one_of(st.integers(0, 1000), st.integers(0, MAX_MINOR // scale))) * scale
    value = Decimal(minor) / 100
    whole, frac = divmod(minor, 100)
    literal = str(whole) if digits == 0 else f"{whole}.{frac:02d}"[: len(str(whole)) + 1 + digits]
    assert Decimal(literal) == value
    return literal, value


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(price=money_literals(), quantity=st.integers(1, 3))
def test_prices_come_back_exact(A, price, quantity):
    literal, value = price
    total = value * quantity
    if total > 10**12:
        quantity = 1
        total = value
    body = ('{"order": {"externalId": "%s", "receiptType": "sale", "items": [{"name": "p", "price": %s, '
            '"quantity": %d}, {"name": "q", "price": 0.1, "quantity": 1}]}}' % (uniq("prop"), literal, quantity))
    if total + Decimal("0.1") > 10**12:
        body = body.replace(', {"name": "q", "price": 0.1, "quantity": 1}', "")
        extra = Decimal(0)
    else:
        extra = Decimal("0.1")
    o = body_of(A.post_raw("/fiscal/orders/", body.encode()))
    assert_money(o["items"][0]["price"], value)
    assert_money(o["items"][0]["total"], total)
    assert_money(o["totalAmount"], total + extra)
