// The program (owner or manager): loyalty settings with a plain-language preview, write-off
// presets, the coupon catalog with images, sale points, contact info and logo, and the join link
// with its QR code to invite customers. Each part saves through its own API endpoint (API.md 4.4).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, del, get, post, put } from '../api.js';
import { t } from '../i18n.js';
import { Dialog, DialogActions, Field, FormError, Loading, Saved, date, decimalText, money, useLoad, useSubmit } from '../ui.jsx';

const TABS = ['settings', 'rules', 'coupons', 'points', 'contacts'];

export function Program() {
  const [tab, setTab] = useState('settings');
  return (
    <section>
      <h1>{t('nav.program')}</h1>
      <div class="tabs" role="tablist">
        {TABS.map((k) => (
          <button type="button" role="tab" aria-selected={tab === k ? 'true' : 'false'} key={k} onClick={() => setTab(k)}>
            {t(`program.${k}`)}
          </button>
        ))}
      </div>
      {tab === 'settings' && <Settings />}
      {tab === 'rules' && <Rules />}
      {tab === 'coupons' && <Catalog />}
      {tab === 'points' && <SalePoints />}
      {tab === 'contacts' && <Contacts />}
    </section>
  );
}

// Hundredths of a decimal text ("5", "2.5") as an integer, or null.
const hundredths = (s) => {
  const v = decimalText(s);
  if (v === null) return null;
  const [i, f = ''] = v.split('.');
  return Number(i) * 100 + Number((f + '00').slice(0, 2));
};

// What one accrual rule gives for a check of `checkRub` rubles paid, in kopecks of the
// program's currency: integers only, rounded down to the minor unit like the server (2.4).
export function accrualPreview(rule, checkRub) {
  const a = hundredths(rule.amount);
  if (a === null) return null;
  if (rule.type === 'amount') return a;
  return Math.floor((checkRub * 100 * a) / 10000);
}

function Rule({ prefix, rule, onChange, form, coupons }) {
  const set = (k) => (e) => onChange({ ...rule, [k]: e.currentTarget.value });
  return (
    <fieldset>
      <legend>{t(`program.${prefix}`)}</legend>
      <Field label={t('program.type')}>
        <select name={`${prefix}.type`} value={rule.type} onChange={set('type')}>
          <option value="percentage">{t('program.percentage')}</option>
          <option value="amount">{t('program.fixed')}</option>
        </select>
      </Field>
      <Field label={rule.type === 'percentage' ? t('program.percent') : t('program.points')} error={form.errorOf(`${prefix}.amount`, 'amount')}>
        <input name={`${prefix}.amount`} inputmode="decimal" value={rule.amount} onInput={set('amount')} />
      </Field>
      <Field label={t('program.validDays')} hint={t('program.validDays.hint')} error={form.errorOf(`${prefix}.validDays`, 'validDays')}>
        <input name={`${prefix}.validDays`} inputmode="numeric" value={rule.validDays} onInput={set('validDays')} />
      </Field>
      <Field label={t('program.couponId')} error={form.errorOf(`${prefix}.couponId`, 'couponId')}>
        <select name={`${prefix}.couponId`} value={rule.couponId} onChange={set('couponId')}>
          <option value="">—</option>
          {coupons.map((k) => (
            <option value={k.id} key={k.id}>
              {k.title}
            </option>
          ))}
        </select>
      </Field>
    </fieldset>
  );
}

const ruleIn = (r) => ({
  type: r.type || 'percentage',
  amount: r.amount === undefined || r.amount === null ? '0' : String(r.amount),
  validDays: r.validDays === null || r.validDays === undefined ? '' : String(r.validDays),
  couponId: r.couponId ? String(r.couponId) : '',
});

// The JSON text of a rule, its amount written as typed (no float arithmetic).
const ruleOut = (r) => {
  const a = decimalText(r.amount);
  const days = r.validDays.trim() === '' ? 'null' : /^\d+$/.test(r.validDays.trim()) ? r.validDays.trim() : JSON.stringify(r.validDays);
  return `{"type": ${JSON.stringify(r.type)}, "amount": ${a === null ? JSON.stringify(r.amount) : a}, "validDays": ${days}, "couponId": ${r.couponId ? Number(r.couponId) : 'null'}}`;
};

function Settings() {
  const state = useLoad(() => Promise.all([get('/loyalty/settings/'), get('/loyalty/coupons/')]), []);
  return <Loading state={state}>{([s, coupons]) => <SettingsForm initial={s} coupons={coupons.filter((k) => !k.deleted)} />}</Loading>;
}

function SettingsForm({ initial, coupons }) {
  const [v, setV] = useState({
    active: !!initial.active,
    currency: initial.currency || 'points',
    autoRegisterClients: initial.autoRegisterClients !== false,
    maxSpendPercent: String(initial.maxSpendPercent ?? 100),
    newCustomerSettings: ruleIn(initial.newCustomerSettings || {}),
    customerSettings: ruleIn(initial.customerSettings || {}),
  });
  const [saved, setSaved] = useState(false);
  const form = useSubmit();
  const unit = t(`currency.${v.currency}`);
  const preview = (rule) => {
    const k = accrualPreview(rule, 1000);
    if (k === null) return t('program.preview.bad');
    const days = rule.validDays.trim() === '' ? t('program.preview.forever') : t('program.preview.days', { n: rule.validDays.trim() });
    return t('program.preview', { check: money(1000, '₽'), get: money(k / 100, unit), days });
  };
  const submit = (e) => {
    e.preventDefault();
    setSaved(false);
    const body = `{"active": ${v.active}, "currency": ${JSON.stringify(v.currency)}, "autoRegisterClients": ${v.autoRegisterClients}, "maxSpendPercent": ${/^\d+$/.test(v.maxSpendPercent) ? v.maxSpendPercent : JSON.stringify(v.maxSpendPercent)}, "newCustomerSettings": ${ruleOut(v.newCustomerSettings)}, "customerSettings": ${ruleOut(v.customerSettings)}}`;
    form.run(async () => {
      await put('/loyalty/settings/', body);
      setSaved(true);
    });
  };
  return (
    <form onSubmit={submit} novalidate data-test="settings">
      <label class="check">
        <input type="checkbox" name="active" checked={v.active} onChange={(e) => setV({ ...v, active: e.currentTarget.checked })} /> {t('program.active')}
      </label>
      <Field label={t('program.currency')}>
        <select name="currency" value={v.currency} onChange={(e) => setV({ ...v, currency: e.currentTarget.value })}>
          <option value="points">{t('balance.points')}</option>
          <option value="rubles">{t('balance.rubles')}</option>
        </select>
      </Field>
      <div class="two">
        <Rule prefix="newCustomerSettings" rule={v.newCustomerSettings} coupons={coupons} form={form} onChange={(r) => setV({ ...v, newCustomerSettings: r })} />
        <Rule prefix="customerSettings" rule={v.customerSettings} coupons={coupons} form={form} onChange={(r) => setV({ ...v, customerSettings: r })} />
      </div>
      <div class="preview" aria-live="polite" data-test="preview">
        <p>
          <strong>{t('program.newCustomerSettings')}:</strong> {preview(v.newCustomerSettings)}
        </p>
        <p>
          <strong>{t('program.customerSettings')}:</strong> {preview(v.customerSettings)}
        </p>
      </div>
      <Field label={t('program.maxSpendPercent')} hint={t('program.maxSpendPercent.hint')} error={form.errorOf('maxSpendPercent')}>
        <input name="maxSpendPercent" inputmode="numeric" value={v.maxSpendPercent} onInput={(e) => setV({ ...v, maxSpendPercent: e.currentTarget.value })} />
      </Field>
      <label class="check">
        <input type="checkbox" name="autoRegisterClients" checked={v.autoRegisterClients} onChange={(e) => setV({ ...v, autoRegisterClients: e.currentTarget.checked })} />{' '}
        {t('program.autoRegister')}
      </label>
      <FormError form={form} fields={['maxSpendPercent', 'newCustomerSettings.amount', 'customerSettings.amount', 'newCustomerSettings.validDays', 'customerSettings.validDays', 'newCustomerSettings.couponId', 'customerSettings.couponId', 'amount', 'validDays', 'couponId']} />
      <Saved when={saved} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('save')}
      </button>
    </form>
  );
}

function Rules() {
  const state = useLoad(() => get('/loyalty/settings/write_off/rules/'), []);
  return <Loading state={state}>{(r) => <RulesForm initial={r.patterns || []} />}</Loading>;
}

function RulesForm({ initial }) {
  const [rows, setRows] = useState(initial.map((p) => ({ currency: p.currency, amount: String(p.amount) })));
  const [saved, setSaved] = useState(false);
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    setSaved(false);
    const items = rows.map((r) => `{"currency": ${JSON.stringify(r.currency)}, "amount": ${decimalText(r.amount) ?? JSON.stringify(r.amount)}}`);
    form.run(async () => {
      await put('/loyalty/settings/write_off/rules/', `{"patterns": [${items.join(', ')}]}`);
      setSaved(true);
    });
  };
  return (
    <form onSubmit={submit} novalidate>
      <p class="muted">{t('program.rules.lead')}</p>
      {rows.map((r, i) => (
        <div class="row" key={i}>
          <Field label={t('amount')}>
            <input name={`amount-${i}`} inputmode="decimal" value={r.amount} onInput={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, amount: e.currentTarget.value } : x)))} />
          </Field>
          <Field label={t('program.currency')}>
            <select value={r.currency} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, currency: e.currentTarget.value } : x)))}>
              <option value="points">{t('balance.points')}</option>
              <option value="rubles">{t('balance.rubles')}</option>
            </select>
          </Field>
          <button type="button" class="ghost" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
            {t('delete')}
          </button>
        </div>
      ))}
      <FormError form={form} />
      <Saved when={saved} />
      <div class="actions">
        <button type="button" onClick={() => setRows([...rows, { currency: 'points', amount: '' }])}>
          + {t('add')}
        </button>
        <button type="submit" class="primary" disabled={form.busy}>
          {t('save')}
        </button>
      </div>
    </form>
  );
}

const STYLES = ['theme_brown', 'theme_pale_orange', 'theme_white', 'theme_light_blue', 'theme_soft_orange', 'theme_dark_grayish_navy', 'theme_black', 'theme_dull_green', 'theme_light_pink'];

function Catalog() {
  const list = useLoad(() => get('/loyalty/coupons/'), []);
  const [editing, setEditing] = useState(null); // {} new, or a coupon
  return (
    <div>
      <div class="actions">
        <button type="button" class="primary" onClick={() => setEditing({})}>
          + {t('program.coupon.new')}
        </button>
      </div>
      <Loading state={list}>
        {(rows) => (
          <ul class="catalog" data-test="catalog">
            {rows
              .filter((k) => !k.deleted)
              .map((k) => (
                <li key={k.id} class={`coupon ${k.style || 'theme_brown'}`}>
                  {k.imagePath ? <img src={k.imagePath} alt="" loading="lazy" /> : <div class="noimg" />}
                  <div>
                    <strong>{k.title}</strong>
                    <div class="muted">{k.header}</div>
                    <div class="muted">
                      {k.validDays ? t('program.preview.days', { n: k.validDays }) : ''}
                      {k.validUntil ? ` · ${t('until', { d: date(k.validUntil, false) })}` : ''}
                    </div>
                    <button type="button" class="ghost" onClick={() => setEditing(k)}>
                      {t('edit')}
                    </button>
                  </div>
                </li>
              ))}
          </ul>
        )}
      </Loading>
      {editing && (
        <CouponForm
          coupon={editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            list.reload();
          }}
        />
      )}
    </div>
  );
}

function CouponForm({ coupon, onClose, onDone }) {
  const [v, setV] = useState({
    title: coupon.title || '',
    header: coupon.header || '',
    subHeader: coupon.subHeader || '',
    shortDescription: coupon.shortDescription || '',
    style: coupon.style || 'theme_brown',
    validDays: coupon.validDays ? String(coupon.validDays) : '',
  });
  const [file, setFile] = useState(null);
  const form = useSubmit();
  const set = (k) => (e) => setV({ ...v, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    const body = { ...v, validDays: v.validDays.trim() === '' ? null : /^\d+$/.test(v.validDays.trim()) ? Number(v.validDays) : v.validDays };
    form.run(async () => {
      const saved = coupon.id ? await put(`/loyalty/coupons/${coupon.id}/`, body) : await post('/loyalty/coupons/', body);
      if (file) {
        const fd = new FormData();
        fd.append('image', file);
        await post(`/loyalty/coupons/${saved.id || coupon.id}/image/`, fd);
      }
      onDone();
    });
  };
  const remove = () =>
    form.run(async () => {
      await del(`/loyalty/coupons/${coupon.id}/`);
      onDone();
    });
  return (
    <Dialog title={coupon.id ? coupon.title : t('program.coupon.new')} onClose={onClose}>
      <form onSubmit={submit} novalidate>
        {['title', 'header', 'subHeader', 'shortDescription'].map((k) => (
          <Field label={t(`program.coupon.${k}`)} error={form.errorOf(k)} key={k}>
            <input name={k} value={v[k]} onInput={set(k)} />
          </Field>
        ))}
        <Field label={t('program.validDays')} hint={t('program.validDays.hint')} error={form.errorOf('validDays')}>
          <input name="validDays" inputmode="numeric" value={v.validDays} onInput={set('validDays')} />
        </Field>
        <Field label={t('program.coupon.style')} error={form.errorOf('style')}>
          <select name="style" value={v.style} onChange={set('style')}>
            {STYLES.map((s) => (
              <option value={s} key={s}>
                {s.replace('theme_', '').replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('program.coupon.image')} hint={t('program.image.hint')} error={form.errorOf('image')}>
          <input name="image" type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
        </Field>
        <FormError form={form} fields={['title', 'header', 'subHeader', 'shortDescription', 'validDays', 'style', 'image']} />
        <DialogActions form={form} onDelete={coupon.id ? remove : null} onClose={onClose} />
      </form>
    </Dialog>
  );
}

function SalePoints() {
  const state = useLoad(() => get('/loyalty/settings/sale_points/'), []);
  return <Loading state={state}>{(rows) => <SalePointsForm initial={rows} />}</Loading>;
}

const POINT_FIELDS = ['region', 'city', 'address', 'phone'];

function SalePointsForm({ initial }) {
  const [rows, setRows] = useState(initial);
  const [saved, setSaved] = useState(false);
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    setSaved(false);
    form.run(async () => {
      setRows(await put('/loyalty/settings/sale_points/', rows));
      setSaved(true);
    });
  };
  return (
    <form onSubmit={submit} novalidate>
      {rows.map((r, i) => (
        <fieldset key={r.id || `new${i}`}>
          <legend>
            {t('program.point')} {i + 1}
          </legend>
          {POINT_FIELDS.map((k) => (
            <Field label={t(`program.point.${k}`)} key={k} error={form.errorOf(`[${i}].${k}`, k)}>
              <input name={`${k}-${i}`} value={r[k] || ''} onInput={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, [k]: e.currentTarget.value } : x)))} />
            </Field>
          ))}
          <button type="button" class="ghost" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
            {t('delete')}
          </button>
        </fieldset>
      ))}
      <FormError form={form} fields={POINT_FIELDS} />
      <Saved when={saved} />
      <div class="actions">
        <button type="button" onClick={() => setRows([...rows, { region: '', city: '', address: '', phone: '' }])}>
          + {t('add')}
        </button>
        <button type="submit" class="primary" disabled={form.busy}>
          {t('save')}
        </button>
      </div>
    </form>
  );
}

const CONTACT_FIELDS = ['company', 'phone', 'email', 'url', 'instagram', 'facebook', 'vk', 'youtube'];

function Contacts() {
  const state = useLoad(() => Promise.all([get('/loyalty/settings/contact_info/'), get('/loyalty/settings/')]), []);
  return (
    <Loading state={state}>
      {([c, s]) => (
        <>
          <Invite url={c.joinURL} active={!!s.active} />
          <ContactsForm initial={c} />
        </>
      )}
    </Loading>
  );
}

// The join link (docs/CARD.md "Joining") to hand to customers: the link with a copy button, its
// QR code (drawn by the server, GET .../join-qr.svg: fetched with the session's CSRF header and
// shown from a blob: URL) to download or print, and whether the page takes people now.
function Invite({ url, active }) {
  const [copied, setCopied] = useState(false);
  const linkRef = useRef(null);
  const qr = useLoad(async () => {
    const r = await api('GET', '/loyalty/settings/contact_info/join-qr.svg', undefined, { raw: true });
    return URL.createObjectURL(await r.blob());
  }, [url]);
  useEffect(() => () => qr.data && URL.revokeObjectURL(qr.data), [qr.data]);
  const copy = async () => {
    setCopied(false);
    try {
      await navigator.clipboard.writeText(url);
    } catch {
      // No clipboard API (a plain-http address other than localhost): copy the selection.
      linkRef.current.select();
      document.execCommand('copy');
    }
    setCopied(true);
  };
  return (
    <section class="card-block invite" aria-labelledby="invite-title" data-test="invite">
      <h2 id="invite-title">{t('program.invite')}</h2>
      <p class="muted">{t('program.invite.lead')}</p>
      <div class="link-row">
        <Field label={t('program.invite.link')}>
          <input name="joinURL" ref={linkRef} readonly value={url} onFocus={(e) => e.currentTarget.select()} />
        </Field>
        <button type="button" onClick={copy}>
          {t('program.invite.copy')}
        </button>
      </div>
      <p role="status" class="muted">
        {copied ? t('program.invite.copied') : ''}
      </p>
      <Loading state={qr}>{(src) => <img class="join-qr" src={src} alt={t('program.invite.qr', { url })} data-test="join-qr" />}</Loading>
      <div class="actions no-print">
        {qr.data && (
          <a class="button" href={qr.data} download="join-qr.svg">
            {t('program.invite.download')}
          </a>
        )}
        <button type="button" onClick={() => window.print()}>
          {t('program.invite.print')}
        </button>
      </div>
      <p class={`notice ${active ? 'ok' : 'error'}`} data-test="invite-active">
        {active ? t('program.invite.active') : t('program.invite.inactive')}
      </p>
    </section>
  );
}

function ContactsForm({ initial }) {
  const [v, setV] = useState(Object.fromEntries(CONTACT_FIELDS.map((k) => [k, initial[k] || ''])));
  const [logo, setLogo] = useState(initial.logoPath);
  const [saved, setSaved] = useState(false);
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    setSaved(false);
    const body = Object.fromEntries(CONTACT_FIELDS.map((k) => [k, v[k].trim() === '' ? null : v[k].trim()]));
    form.run(async () => {
      await put('/loyalty/settings/contact_info/', body);
      setSaved(true);
    });
  };
  const upload = (file) =>
    form.run(async () => {
      const fd = new FormData();
      fd.append('logo', file);
      const r = await post('/loyalty/settings/contact_info/logo/', fd);
      setLogo(r.logoPath);
    });
  return (
    <form onSubmit={submit} novalidate>
      <div class="logo-row">
        {logo ? <img class="logo" src={logo} alt={t('program.logo')} data-test="logo" /> : <div class="logo noimg" />}
        <Field label={t('program.logo')} hint={t('program.image.hint')} error={form.errorOf('logo')}>
          <input name="logo" type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => e.currentTarget.files[0] && upload(e.currentTarget.files[0])} />
        </Field>
      </div>
      {CONTACT_FIELDS.map((k) => (
        <Field label={t(`program.contact.${k}`)} key={k} error={form.errorOf(k)}>
          <input name={k} value={v[k]} onInput={(e) => setV({ ...v, [k]: e.currentTarget.value })} />
        </Field>
      ))}
      <FormError form={form} fields={[...CONTACT_FIELDS, 'logo']} />
      <Saved when={saved} />
      <button type="submit" class="primary" disabled={form.busy}>
        {t('save')}
      </button>
    </form>
  );
}
