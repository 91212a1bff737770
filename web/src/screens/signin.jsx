// Sign-in with an account of the merchant (the owner's email or an employee's email or phone)
// and its password. Failures count towards the same lockout as the API's Basic auth.
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { lang, t } from '../i18n.js';
import { Field, FormError, useSubmit } from '../ui.jsx';

export function SignIn({ onSignedIn, onLang }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const form = useSubmit();
  const submit = (e) => {
    e.preventDefault();
    form.run(async () => onSignedIn(await post('/session/', { login, password }, { signIn: true })));
  };
  return (
    <main class="signin">
      <form onSubmit={submit} class="card" aria-labelledby="signin-title" novalidate>
        <h1 id="signin-title">{t('signin.title')}</h1>
        <p class="muted">{t('signin.lead')}</p>
        <Field label={t('signin.login')} error={form.errorOf('login')}>
          <input name="login" autocomplete="username" value={login} onInput={(e) => setLogin(e.currentTarget.value)} required />
        </Field>
        <Field label={t('signin.password')} error={form.errorOf('password')}>
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </Field>
        <FormError form={form} fields={['login', 'password']} />
        <button type="submit" class="primary" disabled={form.busy}>
          {t('signin.submit')}
        </button>
        <button type="button" class="ghost" onClick={onLang}>
          {lang() === 'ru' ? 'English' : 'Русский'}
        </button>
      </form>
    </main>
  );
}
