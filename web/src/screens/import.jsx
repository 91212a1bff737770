// Import and export (owner or manager). Import: a CSV of customers with opening balances is
// uploaded, the server answers a preview with every row's problem, and applying it is one
// transaction, idempotent by the file's hash, with progress while it runs. Export: customers
// and orders as CSV, streamed by the server.
import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api.js';
import { t } from '../i18n.js';
import { Field, FormError, money, useSubmit } from '../ui.jsx';

export function ImportExport() {
  return (
    <section>
      <h1>{t('nav.import')}</h1>
      <Import />
      <Export />
    </section>
  );
}

function Import() {
  const [file, setFile] = useState(null);
  const [preview, setPreview] = useState(null);
  const [status, setStatus] = useState(null);
  const form = useSubmit();

  // While applying: the server's progress, every half second.
  useEffect(() => {
    if (!status || status.status !== 'applying') return undefined;
    const timer = setTimeout(async () => {
      try {
        setStatus(await get(`/clients/import/${preview.import_id}/`));
      } catch (e) {
        form.setError(e);
      }
    }, 500);
    return () => clearTimeout(timer);
  }, [status]);

  const upload = (e) => {
    e.preventDefault();
    if (!file) return;
    setPreview(null);
    setStatus(null);
    form.run(async () => {
      const blob = new Blob([await file.arrayBuffer()], { type: 'text/csv' });
      setPreview(await post('/clients/import/', blob));
    });
  };
  const apply = () =>
    form.run(async () => {
      setStatus(await post(`/clients/import/${preview.import_id}/apply/`, {}));
    });

  const pct = status && status.total ? Math.floor((100 * status.done) / status.total) : 0;
  return (
    <div class="card-block">
      <h2>{t('import.title')}</h2>
      <p class="muted">{t('import.lead')}</p>
      <pre class="sample">phone;email;name;points;expires{'\n'}79123456789;anna@example.com;Анна;150;2027-06-30</pre>
      <form onSubmit={upload}>
        <Field label={t('import.file')} error={form.errorOf('file')}>
          <input name="file" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
        </Field>
        <button type="submit" disabled={!file || form.busy}>
          {t('import.check')}
        </button>
      </form>
      <FormError form={form} fields={['file']} />
      {preview && (
        <div data-test="import-preview">
          <p role="status">
            {t('import.summary', { rows: preview.rows, valid: preview.valid, bad: preview.problems_total ?? preview.problems.length })}
          </p>
          {preview.problems.length > 0 && (
            <div class="table-wrap">
              <table class="list" data-test="import-problems">
                <thead>
                  <tr>
                    <th class="num">{t('import.line')}</th>
                    <th>{t('import.field')}</th>
                    <th>{t('import.problem')}</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.problems.map((p, i) => (
                    <tr key={i}>
                      <td class="num">{p.line}</td>
                      <td>{p.field}</td>
                      <td>{p.message}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {!status && (
            <button type="button" class="primary" onClick={apply} disabled={form.busy || preview.valid === 0}>
              {t('import.apply', { n: preview.valid })}
            </button>
          )}
        </div>
      )}
      {status && (
        <div data-test="import-status">
          <progress max="100" value={pct} aria-label={t('import.progress')} />
          <p role="status">
            {status.status === 'applied'
              ? t('import.applied', { n: money(status.created ?? status.done) })
              : status.status === 'failed'
                ? status.message || t('import.failed')
                : t('import.applying', { done: status.done, total: status.total })}
          </p>
        </div>
      )}
    </div>
  );
}

// A CSV export downloaded through the API (the session's headers), saved under its name.
async function download(path, name, setError) {
  try {
    const r = await api('GET', path, undefined, { raw: true });
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    setError(e);
  }
}

function Export() {
  const form = useSubmit();
  return (
    <div class="card-block">
      <h2>{t('export.title')}</h2>
      <p class="muted">{t('export.lead')}</p>
      <div class="actions">
        <button type="button" data-test="export-clients" onClick={() => download('/clients/export.csv', 'clients.csv', form.setError)}>
          {t('export.clients')}
        </button>
        <button type="button" data-test="export-orders" onClick={() => download('/orders/export.csv', 'orders.csv', form.setError)}>
          {t('export.orders')}
        </button>
      </div>
      <FormError form={form} />
    </div>
  );
}
