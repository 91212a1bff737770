// Customers: search by phone or email (with %), a page at a time; a customer's card with the
// balance, usable coupons, ledger history, orders and reviews; create, edit, issue a coupon and
// (owner or manager) adjust the balance with a reason; (owner) download everything held about
// the customer and erase their personal data (152-FZ).
import { useState } from 'preact/hooks';
import { api, get, post, put, qs } from '../api.js';
import { go, allowed } from '../app.jsx';
import { t } from '../i18n.js';
import { Dialog, DialogActions, Field, FormError, Loading, Pager, Table, date, day, decimalText, money, useLoad, useSubmit } from '../ui.jsx';

const LIMIT = 20;

// What a person types as the search: an email (has @) or a phone; without % it is a prefix.
export function searchParams(text) {
  const s = text.trim();
  if (!s) return {};
  const pattern = s.includes('%') ? s : `${s}%`;
  return s.includes('@') ? { email: pattern } : { phone: pattern };
}

export function Customers({ who }) {
  const [text, setText] = useState('');
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [creating, setCreating] = useState(false);
  const list = useLoad(() => get(`/clients/${qs({ ...searchParams(search), offset, limit: LIMIT })}`), [search, offset]);
  return (
    <section>
      <div class="title-row">
        <h1>{t('nav.customers')}</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          + {t('customers.new')}
        </button>
      </div>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setSearch(text);
        }}
      >
        <Field label={t('customers.search')} hint={t('customers.search.hint')}>
          <input name="q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="7912% / anna@%" />
        </Field>
        <button type="submit">{t('search')}</button>
      </form>
      <Loading state={list}>
        {(rows) => (
          <>
            <Table
              test="customers"
              rows={rows}
              cols={[
                { label: t('customer.name'), cell: (c) => <a href={`#/customers/${c.id}`}>{c.name || t('customer.noname')}</a> },
                { label: t('customer.phone'), cell: (c) => c.phone || '—' },
                { label: t('customer.email'), cls: 'wide', cell: (c) => c.email || '—' },
                { label: t('customer.purchases'), cls: 'num', cell: (c) => c.totalPurchases },
                { label: t('customer.averageBill'), cls: 'num wide', cell: (c) => money(c.averageBill, '₽') },
              ]}
            />
            <Pager offset={offset} limit={LIMIT} count={rows.length} onPage={setOffset} />
          </>
        )}
      </Loading>
      {creating && (
        <ClientForm
          title={t('customers.new')}
          onClose={() => setCreating(false)}
          onSave={async (body) => {
            const c = await post('/clients/', body);
            setCreating(false);
            go(`customers/${c.id}`);
          }}
        />
      )}
    </section>
  );
}

// A new customer's or an existing one's contacts; editing also sets the birthday (PUT
// /clients/{ref}/ takes it as YYYY-MM-DD, what a date input gives; empty clears it).
function ClientForm({ title, client = {}, onSave, onClose }) {
  const editing = !!client.id;
  const fields = editing ? ['name', 'phone', 'email', 'birthday'] : ['name', 'phone', 'email'];
  const [v, setV] = useState({ name: client.name || '', phone: client.phone || '', email: client.email || '', birthday: client.birthday || '' });
  const form = useSubmit();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    const body = {};
    for (const k of fields) body[k] = v[k].trim() === '' ? null : v[k].trim();
    form.run(() => onSave(body));
  };
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit} novalidate>
        <Field label={t('customer.name')} error={form.errorOf('name')}>
          <input name="name" value={v.name} onInput={set('name')} />
        </Field>
        <Field label={t('customer.phone')} error={form.errorOf('phone')}>
          <input name="phone" type="tel" inputmode="tel" value={v.phone} onInput={set('phone')} />
        </Field>
        <Field label={t('customer.email')} error={form.errorOf('email')}>
          <input name="email" type="email" value={v.email} onInput={set('email')} />
        </Field>
        {editing && (
          <Field label={t('customer.birthday')} error={form.errorOf('birthday')}>
            <input name="birthday" type="date" autocomplete="bday" min="1900-01-01" value={v.birthday} onInput={set('birthday')} />
          </Field>
        )}
        <FormError form={form} fields={fields} />
        <DialogActions form={form} onClose={onClose} />
      </form>
    </Dialog>
  );
}

export function Customer({ id, who }) {
  const [dialog, setDialog] = useState(null);
  const [histOffset, setHistOffset] = useState(0);
  const client = useLoad(() => get(`/clients/${id}/`), [id]);
  const balance = useLoad(() => get(`/clients/${id}/balance/`), [id]);
  const coupons = useLoad(() => get(`/clients/${id}/coupons/`), [id]);
  const history = useLoad(() => get(`/clients/${id}/balance/history/${qs({ offset: histOffset, limit: LIMIT })}`), [id, histOffset]);
  const orders = useLoad(() => get(`/fiscal/orders/${qs({ client_id: id, limit: LIMIT })}`), [id]);
  const reloadAll = () => {
    client.reload();
    balance.reload();
    coupons.reload();
    history.reload();
    orders.reload();
  };
  const manager = allowed(who, 'manager');
  const owner = allowed(who, 'owner');
  const exportForm = useSubmit();
  // The export is a file: fetched with the session's CSRF header (a plain link would carry the
  // cookie alone, which authenticates nothing), then saved under the server's file name.
  const download = () =>
    exportForm.run(async () => {
      const r = await api('GET', `/clients/${id}/personal-data/`, undefined, { raw: true });
      const blob = await r.blob();
      const name = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '');
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = name ? name[1] : `client-${id}-personal-data.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    });
  return (
    <Loading state={client}>
      {(c) => (
        <section data-test="customer-card">
          <p>
            <a href="#/customers">← {t('nav.customers')}</a>
          </p>
          <div class="title-row">
            <h1>{c.erased ? t('customer.erased.title', { id: c.id }) : c.name || t('customer.noname')}</h1>
            <div class="actions">
              {!c.erased && (
                <button type="button" onClick={() => setDialog('edit')}>
                  {t('edit')}
                </button>
              )}
              {manager && !c.erased && (
                <button type="button" onClick={() => setDialog('coupon')}>
                  {t('customer.issueCoupon')}
                </button>
              )}
              {manager && !c.erased && (
                <button type="button" onClick={() => setDialog('adjust')}>
                  {t('customer.adjust')}
                </button>
              )}
              {owner && (
                <button type="button" onClick={download} disabled={exportForm.busy}>
                  {t('customer.export')}
                </button>
              )}
              {owner && !c.erased && (
                <button type="button" class="danger" onClick={() => setDialog('erase')}>
                  {t('customer.erase')}
                </button>
              )}
            </div>
          </div>
          <FormError form={exportForm} />
          {c.erased && (
            <p class="notice" role="status" data-test="erased">
              {t('customer.erased.notice', { d: date(c.erasedAt) })}
            </p>
          )}
          <dl class="facts">
            <div>
              <dt>{t('customer.phone')}</dt>
              <dd>{c.phone || '—'}</dd>
            </div>
            <div>
              <dt>{t('customer.email')}</dt>
              <dd>{c.email || '—'}</dd>
            </div>
            {c.birthday && (
              <div data-test="birthday">
                <dt>{t('customer.birthday')}</dt>
                <dd>{day(c.birthday)}</dd>
              </div>
            )}
            <Loading state={balance}>
              {(b) =>
                b.map((x) => (
                  <div key={x.currency} data-test={`balance-${x.currency}`}>
                    <dt>{t(`balance.${x.currency}`)}</dt>
                    <dd class="big">{money(x.amount)}</dd>
                  </div>
                ))
              }
            </Loading>
            <div>
              <dt>{t('customer.purchases')}</dt>
              <dd>
                {c.totalPurchases} · {money(c.totalPurchasesAmount, '₽')}
              </dd>
            </div>
            <div>
              <dt>{t('customer.averageBill')}</dt>
              <dd>{money(c.averageBill, '₽')}</dd>
            </div>
            <div>
              <dt>{t('customer.reviews')}</dt>
              <dd>
                👍 {c.positiveReviews} · 😐 {c.neutralReviews} · 👎 {c.negativeReviews}
              </dd>
            </div>
          </dl>

          <h2>{t('customer.coupons')}</h2>
          <Loading state={coupons}>
            {(list) =>
              list.length === 0 ? (
                <p class="muted">{t('customer.noCoupons')}</p>
              ) : (
                <ul class="coupons" data-test="client-coupons">
                  {list.map((k) => (
                    <li key={k.id}>
                      <strong>{k.title}</strong> <span class="muted">№ {k.merchantToken}</span>
                      {k.expireDate && <span class="muted"> · {t('until', { d: date(k.expireDate, false) })}</span>}
                    </li>
                  ))}
                </ul>
              )
            }
          </Loading>

          <h2>{t('customer.history')}</h2>
          <Loading state={history}>
            {(rows) => (
              <>
                <Table
                  test="history"
                  rows={rows}
                  rowKey={(r) => r.transactionId}
                  cols={[
                    { label: t('date'), cell: (r) => date(r.transactionDate) },
                    { label: t('history.type'), cell: (r) => t(`ledger.${r.type}`) },
                    {
                      label: t('amount'),
                      cls: 'num',
                      cell: (r) => (
                        <span class={Number(r.amount) < 0 ? 'neg' : 'pos'}>
                          {Number(r.amount) > 0 ? '+' : ''}
                          {money(r.amount)} {t(`currency.${r.currency}`)}
                        </span>
                      ),
                    },
                    { label: t('order'), cls: 'wide', cell: (r) => (r.orderId ? <a href={`#/orders/${r.orderId}`}>№ {r.orderId}</a> : r.reason || '') },
                  ]}
                />
                <Pager offset={histOffset} limit={LIMIT} count={rows.length} onPage={setHistOffset} />
              </>
            )}
          </Loading>

          <h2>{t('nav.orders')}</h2>
          <Loading state={orders}>{(rows) => <OrderTable rows={rows} />}</Loading>

          {dialog === 'edit' && (
            <ClientForm
              title={t('edit')}
              client={c}
              onClose={() => setDialog(null)}
              onSave={async (body) => {
                await put(`/clients/${id}/`, body);
                setDialog(null);
                client.reload();
              }}
            />
          )}
          {dialog === 'coupon' && <IssueCoupon id={id} onClose={() => setDialog(null)} onDone={reloadAll} />}
          {dialog === 'adjust' && <Adjust id={id} onClose={() => setDialog(null)} onDone={reloadAll} />}
          {dialog === 'erase' && <Erase id={id} onClose={() => setDialog(null)} onDone={reloadAll} />}
        </section>
      )}
    </Loading>
  );
}

export function OrderTable({ rows }) {
  if (rows.length === 0) return <p class="muted">{t('orders.none')}</p>;
  return (
    <Table
      test="orders"
      rows={rows}
      cols={[
        { label: '№', cell: (o) => <a href={`#/orders/${o.id}`}>{o.externalOrderNumber || o.orderNumber}</a> },
        { label: t('date'), cell: (o) => date(o.orderDate) },
        { label: t('orders.type'), cell: (o) => t(`receipt.${o.receiptType}`) },
        { label: t('orders.customer'), cls: 'wide', cell: (o) => o.customerName || o.customerPhone || '—' },
        { label: t('orders.total'), cls: 'num', cell: (o) => money(o.totalAmount, '₽') },
        { label: t('orders.cashback'), cls: 'num wide', cell: (o) => (o.cashbackAmount ? money(o.cashbackAmount) : '—') },
      ]}
    />
  );
}

function IssueCoupon({ id, onClose, onDone }) {
  const catalog = useLoad(() => get('/loyalty/coupons/'), []);
  const [couponId, setCouponId] = useState('');
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    form.run(async () => {
      await post(`/clients/${id}/coupons/`, { couponId: couponId ? Number(couponId) : null });
      onClose();
      onDone();
    });
  };
  return (
    <Dialog title={t('customer.issueCoupon')} onClose={onClose}>
      <form onSubmit={submit}>
        <Loading state={catalog}>
          {(list) => (
            <Field label={t('coupon')} error={form.errorOf('couponId')}>
              <select name="couponId" value={couponId} onChange={(e) => setCouponId(e.currentTarget.value)}>
                <option value="">—</option>
                {list
                  .filter((k) => !k.deleted)
                  .map((k) => (
                    <option value={k.id} key={k.id}>
                      {k.title}
                    </option>
                  ))}
              </select>
            </Field>
          )}
        </Loading>
        <FormError form={form} fields={['couponId']} />
        <DialogActions form={form} submitLabel={t('customer.issue')} onClose={onClose} />
      </form>
    </Dialog>
  );
}

function Adjust({ id, onClose, onDone }) {
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    const a = decimalText(amount, { signed: true });
    if (a === null) {
      form.setError({ field: 'amount', rule: t('error.decimal'), message: t('error.decimal') });
      return;
    }
    form.run(async () => {
      await post(`/clients/${id}/balance/adjust/`, `{"amount": ${a}, "reason": ${JSON.stringify(reason)}}`);
      onClose();
      onDone();
    });
  };
  return (
    <Dialog title={t('customer.adjust')} onClose={onClose}>
      <form onSubmit={submit} novalidate>
        <Field label={t('adjust.amount')} hint={t('adjust.amount.hint')} error={form.errorOf('amount')}>
          <input name="amount" inputmode="decimal" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
        </Field>
        <Field label={t('adjust.reason')} error={form.errorOf('reason')}>
          <input name="reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        </Field>
        <FormError form={form} fields={['amount', 'reason']} />
        <DialogActions form={form} onClose={onClose} />
      </form>
    </Dialog>
  );
}

// The erasure asks for the customer's number again (the API's "confirm"): a slip of the mouse
// cannot erase anyone. The API's message stands under the field when it does not match.
function Erase({ id, onClose, onDone }) {
  const [confirm, setConfirm] = useState('');
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    form.run(async () => {
      await post(`/clients/${id}/erase/`, { confirm: confirm.trim() });
      onClose();
      onDone();
    });
  };
  return (
    <Dialog title={t('customer.erase')} onClose={onClose}>
      <form onSubmit={submit} novalidate>
        <p>{t('erase.explain')}</p>
        <Field label={t('erase.confirm', { id })} error={form.errorOf('confirm')}>
          <input name="confirm" inputmode="numeric" autocomplete="off" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </Field>
        <FormError form={form} fields={['confirm']} />
        <DialogActions form={form} submitLabel={t('erase.submit')} onClose={onClose} />
      </form>
    </Dialog>
  );
}
