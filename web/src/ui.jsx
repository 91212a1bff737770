// Small pieces every screen uses: loading state, forms whose errors stand next to their field,
// money and dates in the reader's language, a pager.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { lang, t } from './i18n.js';

// Loads with fn() on mount and whenever deps change; reload() loads again.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    fn().then(
      (data) => n === seq.current && setState({ loading: false, data, error: null }),
      (error) => n === seq.current && setState({ loading: false, data: null, error }),
    );
  }, deps);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

// A form's submit: runs fn, keeps the API's error (by field when it names one) and a busy flag.
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, { message: String(e.message || e) }));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  // The message for one field (the API's words), or null.
  const errorOf = (...fields) => (error && error.field && fields.includes(error.field) ? error.rule : null);
  return { busy, error, setError, run, errorOf };
}

let fieldSeq = 0;

// A labelled input; error shows under it and is tied to it for screen readers.
export function Field({ label, error, hint, children, id }) {
  const ref = useRef(id || `f${++fieldSeq}`);
  const fid = ref.current;
  const child = Array.isArray(children) ? children[0] : children;
  const input = child && child.props ? { ...child, props: { ...child.props, id: fid, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': error ? `${fid}-err` : undefined } } : child;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={fid}>{label}</label>
      {input}
      {hint && !error && <small class="hint">{hint}</small>}
      {error && (
        <small class="error" id={`${fid}-err`} role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

// The error of a form that no field claims.
export function FormError({ form, fields = [] }) {
  const e = form.error;
  if (!e || (e.field && fields.includes(e.field))) return null;
  return (
    <p class="notice error" role="alert">
      {e.status === 429 ? t('error.locked', { s: e.retryAfter || '?' }) : e.message}
    </p>
  );
}

export function Loading({ state, children }) {
  if (state.error)
    return (
      <p class="notice error" role="alert">
        {state.error.status === 403 ? t('error.forbidden') : state.error.message}
      </p>
    );
  if (state.loading && !state.data) return <p class="muted">{t('loading')}</p>;
  return children(state.data);
}

const locale = () => (lang() === 'ru' ? 'ru-RU' : 'en-GB');

// Money as the API sends it (a JSON number with at most 2 fraction digits): shown, never summed.
export function money(v, unit) {
  if (v === null || v === undefined || v === '') return '—';
  const s = new Intl.NumberFormat(locale(), { minimumFractionDigits: 0, maximumFractionDigits: 2 }).format(Number(v));
  return unit ? `${s} ${unit}` : s;
}

export const rub = (v) => money(v, '₽');

export function date(ms, withTime = true) {
  if (!ms) return '—';
  const o = withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' };
  return new Intl.DateTimeFormat(locale(), o).format(new Date(Number(ms)));
}

// A calendar day as the API writes it ("1990-02-28", a birthday) in the reader's language; the
// day itself, whatever the browser's time zone.
export function day(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(`${iso}T00:00:00Z`));
}

// A decimal typed by a person ("1 000,5" or "1000.50") as the text of a JSON number with at
// most 2 fraction digits, or null. Sent as typed: never through arithmetic.
export function decimalText(s, { signed = false } = {}) {
  const v = String(s || '').replace(/[\s\u00a0]/g, '').replace(',', '.');
  const re = signed ? /^[-+]?\d+(\.\d{1,2})?$/ : /^\d+(\.\d{1,2})?$/;
  return re.test(v) ? v.replace(/^\+/, '') : null;
}

export function Pager({ offset, limit, count, onPage }) {
  return (
    <nav class="pager" aria-label={t('pager')}>
      <button type="button" disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>
        ← {t('pager.prev')}
      </button>
      <span class="muted">
        {count === 0 ? t('pager.none') : t('pager.range', { a: offset + 1, b: offset + count })}
      </span>
      <button type="button" disabled={count < limit} onClick={() => onPage(offset + limit)}>
        {t('pager.next')} →
      </button>
    </nav>
  );
}

export function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (el && !el.open) el.showModal();
    const first = el && el.querySelector('input, select, textarea, button');
    if (first) first.focus();
  }, []);
  return (
    <dialog ref={ref} class="dialog" onClose={onClose} onCancel={onClose} aria-label={title}>
      <header>
        <h2>{title}</h2>
        <button type="button" class="ghost" aria-label={t('close')} onClick={onClose}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

// A table of rows: cols are {label, cls (also the cells' class), cell(row)}; test names it for
// the browser suite; key(row) keys a row (default row.id).
export function Table({ test, rows, cols, rowKey = (r) => r.id }) {
  return (
    <div class="table-wrap">
      <table class="list" data-test={test}>
        <thead>
          <tr>
            {cols.map((c, i) => (
              <th class={c.cls} key={i}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, n) => (
            <tr key={rowKey(r, n)}>
              {cols.map((c, i) => (
                <td class={c.cls} key={i}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// A dialog form's buttons: submit (label, default Save), an optional destructive action, cancel.
export function DialogActions({ form, submitLabel, onDelete, onClose }) {
  return (
    <div class="actions">
      <button type="submit" class="primary" disabled={form.busy}>
        {submitLabel || t('save')}
      </button>
      {onDelete && (
        <button type="button" class="danger" onClick={onDelete} disabled={form.busy}>
          {t('delete')}
        </button>
      )}
      <button type="button" onClick={onClose}>
        {t('cancel')}
      </button>
    </div>
  );
}

// "Saved" once a settings form's save went through.
export function Saved({ when }) {
  return when ? (
    <p class="notice ok" role="status">
      {t('saved')}
    </p>
  ) : null;
}
