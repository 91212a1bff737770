// Staff and API keys (the owner): employees with their role and staff number; API keys for the
// POS, each shown once when made.
import { useState } from 'preact/hooks';
import { del, get, post, put } from '../api.js';
import { t } from '../i18n.js';
import { Dialog, DialogActions, Field, FormError, Loading, Table, date, useLoad, useSubmit } from '../ui.jsx';

export function Staff() {
  const staff = useLoad(() => get('/employees/'), []);
  const keys = useLoad(() => get('/api_keys/'), []);
  const [editing, setEditing] = useState(null);
  const [newKey, setNewKey] = useState(null);
  const keyForm = useSubmit();
  return (
    <section>
      <div class="title-row">
        <h1>{t('nav.staff')}</h1>
        <button type="button" class="primary" onClick={() => setEditing({})}>
          + {t('staff.new')}
        </button>
      </div>
      <Loading state={staff}>
        {(rows) => (
          <Table
            test="staff"
            rows={rows}
            cols={[
              { label: t('customer.name'), cell: (e) => [e.firstName, e.lastName].filter(Boolean).join(' ') || '—' },
              { label: t('staff.role'), cell: (e) => t(`role.${e.role}`) },
              { label: t('customer.email'), cls: 'wide', cell: (e) => e.email || '—' },
              { label: t('customer.phone'), cell: (e) => e.phone || '—' },
              { label: t('staff.login'), cls: 'wide', cell: (e) => e.login },
              {
                label: '',
                cell: (e) => (
                  <button type="button" class="ghost" onClick={() => setEditing(e)}>
                    {t('edit')}
                  </button>
                ),
              },
            ]}
          />
        )}
      </Loading>

      <h2>{t('staff.keys')}</h2>
      <p class="muted">{t('staff.keys.lead')}</p>
      <Loading state={keys}>
        {(rows) => (
          <ul class="keys" data-test="keys">
            {rows.map((k) => (
              <li key={k.id}>
                <span>
                  #{k.id} · {date(k.createdAt || k.created)}
                </span>
                <button
                  type="button"
                  class="ghost"
                  onClick={() =>
                    keyForm.run(async () => {
                      await del(`/api_keys/${k.id}/`);
                      keys.reload();
                    })
                  }
                >
                  {t('staff.revoke')}
                </button>
              </li>
            ))}
          </ul>
        )}
      </Loading>
      {newKey && (
        <p class="notice ok" role="status" data-test="new-key">
          {t('staff.keyOnce')} <code>{newKey}</code>
        </p>
      )}
      <FormError form={keyForm} />
      <button
        type="button"
        onClick={() =>
          keyForm.run(async () => {
            const k = await post('/api_keys/', {});
            setNewKey(k.key);
            keys.reload();
          })
        }
      >
        + {t('staff.newKey')}
      </button>
      {editing && (
        <EmployeeForm
          employee={editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            staff.reload();
          }}
        />
      )}
    </section>
  );
}

const FIELDS = ['firstName', 'lastName', 'email', 'phone', 'inn'];

function EmployeeForm({ employee, onClose, onDone }) {
  const [v, setV] = useState({ ...Object.fromEntries(FIELDS.map((k) => [k, employee[k] || ''])), role: employee.role || 'cashier', password: '' });
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    const body = { role: v.role };
    for (const k of FIELDS) body[k] = v[k].trim() === '' ? null : v[k].trim();
    if (v.password) body.password = v.password;
    form.run(async () => {
      if (employee.id) await put(`/employees/${employee.id}/`, body);
      else await post('/employees/', body);
      onDone();
    });
  };
  const remove = () =>
    form.run(async () => {
      await del(`/employees/${employee.id}/`);
      onDone();
    });
  return (
    <Dialog title={employee.id ? t('edit') : t('staff.new')} onClose={onClose}>
      <form onSubmit={submit} novalidate>
        {FIELDS.map((k) => (
          <Field label={t(`staff.${k}`)} key={k} error={form.errorOf(k)}>
            <input name={k} value={v[k]} onInput={(e) => setV({ ...v, [k]: e.currentTarget.value })} />
          </Field>
        ))}
        <Field label={t('staff.role')} error={form.errorOf('role')}>
          <select name="role" value={v.role} onChange={(e) => setV({ ...v, role: e.currentTarget.value })}>
            <option value="cashier">{t('role.cashier')}</option>
            <option value="manager">{t('role.manager')}</option>
          </select>
        </Field>
        <Field label={t('signin.password')} hint={employee.id ? t('staff.password.keep') : null} error={form.errorOf('password')}>
          <input name="password" type="password" autocomplete="new-password" value={v.password} onInput={(e) => setV({ ...v, password: e.currentTarget.value })} />
        </Field>
        <FormError form={form} fields={[...FIELDS, 'role', 'password']} />
        <DialogActions form={form} onDelete={employee.id ? remove : null} onClose={onClose} />
      </form>
    </Dialog>
  );
}
