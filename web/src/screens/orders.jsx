// Orders: the list with the API's filters (dates, fiscal numbers, type), a page at a time; an
// order with its items, and its refund, whole or of chosen items and quantities (kopilka's
// refund form of API.md 3.3: a refund order listing the sale's item ids).
import { useState } from 'preact/hooks';
import { get, post, qs } from '../api.js';
import { t } from '../i18n.js';
import { Field, FormError, Loading, Pager, date, money, useLoad, useSubmit } from '../ui.jsx';
import { OrderTable } from './customers.jsx';

const LIMIT = 20;

// A yyyy-mm-dd of the date input as ms at the start (or end) of that day, local time.
function dayMs(s, end) {
  if (!s) return '';
  const d = new Date(`${s}T00:00:00`);
  if (end) d.setDate(d.getDate() + 1);
  return String(d.getTime() - (end ? 1 : 0));
}

export function Orders({ query }) {
  const [f, setF] = useState({ from: '', to: '', fn: '', fd: '', receipt_type: '', client_id: query.get('client') || '' });
  const [applied, setApplied] = useState(f);
  const [offset, setOffset] = useState(0);
  const list = useLoad(
    () =>
      get(
        `/fiscal/orders/${qs({
          from: dayMs(applied.from, false),
          to: dayMs(applied.to, true),
          fn: applied.fn,
          fd: applied.fd,
          receipt_type: applied.receipt_type,
          client_id: applied.client_id,
          offset,
          limit: LIMIT,
        })}`,
      ),
    [applied, offset],
  );
  const set = (k) => (e) => setF({ ...f, [k]: e.currentTarget.value });
  const err = list.error && list.error.field;
  return (
    <section>
      <h1>{t('nav.orders')}</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied({ ...f });
        }}
      >
        <Field label={t('orders.from')} error={err === 'from' ? list.error.rule : null}>
          <input type="date" name="from" value={f.from} onInput={set('from')} />
        </Field>
        <Field label={t('orders.to')} error={err === 'to' ? list.error.rule : null}>
          <input type="date" name="to" value={f.to} onInput={set('to')} />
        </Field>
        <Field label={t('orders.type')}>
          <select name="receipt_type" value={f.receipt_type} onChange={set('receipt_type')}>
            <option value="">{t('orders.all')}</option>
            <option value="sale">{t('receipt.sale')}</option>
            <option value="refund">{t('receipt.refund')}</option>
          </select>
        </Field>
        <Field label={t('orders.fn')} error={err === 'fn' ? list.error.rule : null}>
          <input name="fn" value={f.fn} onInput={set('fn')} />
        </Field>
        <Field label={t('orders.fd')} error={err === 'fd' ? list.error.rule : null}>
          <input name="fd" value={f.fd} onInput={set('fd')} />
        </Field>
        <button type="submit">{t('search')}</button>
      </form>
      <Loading state={list}>
        {(rows) => (
          <>
            <OrderTable rows={rows} />
            <Pager offset={offset} limit={LIMIT} count={rows.length} onPage={setOffset} />
          </>
        )}
      </Loading>
    </section>
  );
}

// Quantities as integers of thousandths (the API's 3 fraction digits), so what remains is
// computed without binary fractions; back to text for the request.
const milli = (q) => Math.round(Number(q) * 1000);
const qtyText = (m) => (m / 1000).toFixed(3).replace(/\.?0+$/, '');

export function Order({ id }) {
  const order = useLoad(() => get(`/fiscal/orders/${id}/`), [id]);
  const items = useLoad(() => get(`/fiscal/orders/${id}/items/`), [id]);
  const [chosen, setChosen] = useState({}); // item id -> quantity text
  const [done, setDone] = useState(null);
  const form = useSubmit();

  const refund = (lines) =>
    form.run(async () => {
      const ext = `lk-${id}-${Date.now().toString(36)}`;
      const r = await post('/fiscal/orders/', { order: { externalId: ext, receiptType: 'refund', items: lines } });
      setDone(r);
      setChosen({});
      order.reload();
      items.reload();
    });

  return (
    <Loading state={order}>
      {(o) => (
        <section data-test="order">
          <p>
            <a href="#/orders">← {t('nav.orders')}</a>
          </p>
          <h1>
            {t(`receipt.${o.receiptType}`)} {o.externalOrderNumber}
          </h1>
          <dl class="facts">
            <div>
              <dt>{t('date')}</dt>
              <dd>{date(o.orderDate)}</dd>
            </div>
            <div>
              <dt>{t('orders.customer')}</dt>
              <dd>{o.customer ? <a href={`#/customers/${o.customer.id}`}>{o.customerName || o.customerPhone || o.customer.id}</a> : '—'}</dd>
            </div>
            <div>
              <dt>{t('orders.total')}</dt>
              <dd class="big">{money(o.totalAmount, '₽')}</dd>
            </div>
            <div>
              <dt>{t('orders.cashback')}</dt>
              <dd>
                {money(o.cashbackAmount)} {t(`currency.${o.cashbackCurrency}`)}
              </dd>
            </div>
            <div>
              <dt>{t('orders.spent')}</dt>
              <dd>
                {money(o.spentAmount)} {t(`currency.${o.spentCurrency}`)}
              </dd>
            </div>
            <div>
              <dt>{t('orders.status')}</dt>
              <dd data-test="order-status">{t(`status.${o.status}`)}</dd>
            </div>
            {o.employee && (
              <div>
                <dt>{t('orders.employee')}</dt>
                <dd>{[o.employee.firstName, o.employee.lastName].filter(Boolean).join(' ') || o.employee.email}</dd>
              </div>
            )}
          </dl>
          <p>
            <a href={o.publicURL} target="_blank" rel="noopener">
              {t('orders.receipt')} ↗
            </a>
          </p>
          <h2>{t('orders.items')}</h2>
          <Loading state={items}>
            {(rows) => {
              const left = (it) => milli(it.quantity) - milli(it.refundedQuantity || 0);
              const refundable = o.receiptType === 'sale' && rows.some((it) => left(it) > 0);
              const lines = Object.entries(chosen)
                .filter(([, q]) => q && Number(q.replace(',', '.')) > 0)
                .map(([itemId, q]) => ({ id: Number(itemId), quantity: Number(q.replace(',', '.')) }));
              return (
                <form
                  onSubmit={(e) => {
                    e.preventDefault();
                    refund(lines);
                  }}
                >
                  <div class="table-wrap">
                    <table class="list" data-test="items">
                      <thead>
                        <tr>
                          <th>{t('orders.item')}</th>
                          <th class="num">{t('orders.price')}</th>
                          <th class="num">{t('orders.qty')}</th>
                          <th class="num">{t('orders.total')}</th>
                          {o.receiptType === 'sale' && <th class="num">{t('orders.refunded')}</th>}
                          {refundable && <th class="num">{t('orders.refundQty')}</th>}
                        </tr>
                      </thead>
                      <tbody>
                        {rows.map((it) => (
                          <tr key={it.id}>
                            <td>{it.name}</td>
                            <td class="num">{money(it.price, '₽')}</td>
                            <td class="num">{money(it.quantity)}</td>
                            <td class="num">{money(it.total, '₽')}</td>
                            {o.receiptType === 'sale' && <td class="num">{money(it.refundedQuantity)}</td>}
                            {refundable && (
                              <td class="num">
                                {left(it) > 0 && (
                                  <input
                                    class="qty"
                                    name={`refund-${it.id}`}
                                    inputmode="decimal"
                                    aria-label={`${t('orders.refundQty')}: ${it.name}`}
                                    placeholder={`0…${qtyText(left(it))}`}
                                    value={chosen[it.id] || ''}
                                    onInput={(e) => setChosen({ ...chosen, [it.id]: e.currentTarget.value })}
                                  />
                                )}
                              </td>
                            )}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  <FormError form={form} />
                  {done && (
                    <p class="notice ok" role="status" data-test="refund-done">
                      {t('orders.refundDone', { n: done.externalOrderNumber })}
                    </p>
                  )}
                  {refundable && (
                    <div class="actions">
                      <button type="submit" disabled={form.busy || lines.length === 0}>
                        {t('orders.refundChosen')}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        disabled={form.busy}
                        onClick={() => refund(rows.filter((it) => left(it) > 0).map((it) => ({ id: it.id, quantity: Number(qtyText(left(it))) })))}
                      >
                        {t('orders.refundAll')}
                      </button>
                    </div>
                  )}
                </form>
              );
            }}
          </Loading>
        </section>
      )}
    </Loading>
  );
}
