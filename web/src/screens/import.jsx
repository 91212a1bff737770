// Import and export (owner or manager). Import: a CSV of customers with opening balances is
// uploaded, the server answers a preview with every row's problem, and applying it is one
// transaction, idempotent by the file's hash, with progress while it runs. Export: customers
// and orders as CSV, streamed by the server.
import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api.js';
import { t } from '../i18n.js';
import { Field, FormError, Table, money, useSubmit } from '../ui.jsx';

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
  const [status, setStatus] = useState(null); // the import's status while and after applying
  const form = useSubmit();

  // While the apply request runs, the import's progress every half second.
  useEffect(() => {
    if (!status || status.status !== 'applying') return undefined;
    const timer = setTimeout(async () => {
      try {
        const s = await get(`/imports/clients/${preview.importId}/`);
        setStatus((cur) => (cur && cur.status === 'applying' ? { ...s, status: s.status === 'preview' ? 'applying' : s.status } : cur));
      } catch {
        /* the apply's own answer tells */
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
      const r = await post('/imports/clients/', blob);
      if (r.status === 'applied') setStatus(r);
      setPreview(r);
    });
  };
  const apply = () => {
    setStatus({ status: 'applying', done: 0, total: preview.valid });
    form.run(async () => {
      try {
        setStatus(await post(`/imports/clients/${preview.importId}/apply/`, { skipProblems: preview.problemCount > 0 }));
      } catch (e) {
        setStatus(null);
        throw e;
      }
    });
  };

  const pct = status && status.total ? Math.floor((100 * status.done) / status.total) : 0;
  return (
    <div class="card-block">
      <h2>{t('import.title')}</h2>
      <p class="muted">{t('import.lead')}</p>
      <pre class="sample">телефон;email;имя;баллы;срок{'\n'}79123456789;anna@example.com;Анна;150;30.06.2027</pre>
      <form onSubmit={upload}>
        <Field label={t('import.file')} error={form.errorOf('file')}>
          <input name="file" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
        </Field>
        <button type="submit" disabled={!file || form.busy}>
          {t('import.check')}
        </button>
      </form>
      <FormError form={form} fields={['file']} />
      {preview && preview.problems && (
        <div data-test="import-preview">
          <p role="status">
            {t('import.summary', { rows: preview.rows, valid: preview.valid, bad: preview.problemCount })}{' '}
            <span class="muted">{t('import.read', { enc: preview.encoding, sep: preview.separator === '\t' ? 'TAB' : preview.separator })}</span>
          </p>
          {preview.problems.length > 0 && (
            <Table
              test="import-problems"
              rows={preview.problems}
              rowKey={(p, n) => n}
              cols={[
                { label: t('import.line'), cls: 'num', cell: (p) => p.line },
                { label: t('import.field'), cell: (p) => p.field },
                { label: t('import.problem'), cell: (p) => p.message },
              ]}
            />
          )}
          {!status && (
            <button type="button" class="primary" onClick={apply} disabled={form.busy || preview.valid === 0}>
              {preview.problemCount > 0 ? t('import.applySkipping', { n: preview.valid }) : t('import.apply', { n: preview.valid })}
            </button>
          )}
        </div>
      )}
      {status && (
        <div data-test="import-status">
          <progress max="100" value={status.status === 'applied' ? 100 : pct} aria-label={t('import.progress')} />
          <p role="status">
            {status.status === 'applied' ? t('import.applied', { n: money(status.created ?? status.done) }) : t('import.applying', { done: status.done || 0, total: status.total || 0 })}
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
        <button type="button" data-test="export-clients" onClick={() => download('/exports/clients.csv', 'clients.csv', form.setError)}>
          {t('export.clients')}
        </button>
        <button type="button" data-test="export-orders" onClick={() => download('/exports/orders.csv', 'orders.csv', form.setError)}>
          {t('export.orders')}
        </button>
      </div>
      <FormError form={form} />
    </div>
  );
}
