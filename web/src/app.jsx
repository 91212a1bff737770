// The cabinet's shell: who is signed in, the menu their role may use, and the hash route
// (#/customers/12) that picks the screen. Every screen talks to the API through api.js.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, onSessionLost, setCsrf } from './api.js';
import { lang, setLang, t } from './i18n.js';
import { SignIn } from './screens/signin.jsx';
import { Dashboard } from './screens/dashboard.jsx';
import { Customers, Customer } from './screens/customers.jsx';
import { Orders, Order } from './screens/orders.jsx';
import { Program } from './screens/program.jsx';
import { Staff } from './screens/staff.jsx';
import { ImportExport } from './screens/import.jsx';

const RANK = { cashier: 1, manager: 2, owner: 3 };

// The screens, in menu order, with the least role that may open each (the API's role matrix:
// a cashier serves customers and orders; managers run the program; the owner the staff).
export const SCREENS = [
  { path: 'dashboard', label: 'nav.dashboard', role: 'manager', view: Dashboard },
  { path: 'customers', label: 'nav.customers', role: 'cashier', view: Customers, item: Customer },
  { path: 'orders', label: 'nav.orders', role: 'cashier', view: Orders, item: Order },
  { path: 'program', label: 'nav.program', role: 'manager', view: Program },
  { path: 'import', label: 'nav.import', role: 'manager', view: ImportExport },
  { path: 'staff', label: 'nav.staff', role: 'owner', view: Staff },
];

export const allowed = (who, role) => who && RANK[who.role] >= RANK[role];

function parseHash() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [path, query = ''] = h.split('?');
  const [screen = '', id = ''] = path.split('/');
  return { screen, id, query: new URLSearchParams(query) };
}

export function go(path) {
  location.hash = `#/${path}`;
}

export function App() {
  const [who, setWho] = useState(undefined); // undefined: asking; null: signed out
  const [route, setRoute] = useState(parseHash());
  const [, setLangTick] = useState(0);

  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    addEventListener('hashchange', onHash);
    onSessionLost(() => {
      setCsrf(null);
      setWho(null);
    });
    // A reloaded page asks for its session with the CSRF token it kept (the cookie alone
    // authenticates nothing, GET /session/ included).
    const kept = localStorage.getItem('kopilka.csrf');
    if (!kept) {
      setWho(null);
      return () => removeEventListener('hashchange', onHash);
    }
    setCsrf(kept);
    get('/session/', { signIn: true }).then(
      (s) => {
        setCsrf(s.csrf_token);
        setWho(s);
      },
      () => setWho(null),
    );
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    document.documentElement.lang = lang();
  });

  const switchLang = () => {
    setLang(lang() === 'ru' ? 'en' : 'ru');
    setLangTick((n) => n + 1);
  };

  if (who === undefined) return <p class="muted center">{t('loading')}</p>;
  if (who === null)
    return (
      <SignIn
        onLang={switchLang}
        onSignedIn={(s) => {
          setCsrf(s.csrf_token);
          setWho(s);
        }}
      />
    );

  const signOut = async () => {
    try {
      await del('/session/');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    setCsrf(null);
    setWho(null);
    location.hash = '';
  };

  const mine = SCREENS.filter((s) => allowed(who, s.role));
  const current = SCREENS.find((s) => s.path === route.screen) || mine[0];
  let body;
  if (!allowed(who, current.role)) {
    body = (
      <section>
        <h1>{t(current.label)}</h1>
        <p class="notice error" role="alert" data-test="no-access">
          {t('error.role', { role: t(`role.${who.role}`) })}
        </p>
      </section>
    );
  } else if (route.id && current.item) {
    const Item = current.item;
    body = <Item id={route.id} who={who} query={route.query} />;
  } else {
    const View = current.view;
    body = <View who={who} query={route.query} />;
  }

  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/">
          kopilka
        </a>
        <span class="merchant" title={who.login}>
          {who.merchant && who.merchant.name} · {t(`role.${who.role}`)}
        </span>
        <button type="button" class="ghost" onClick={switchLang} aria-label={t('lang.switch')}>
          {lang() === 'ru' ? 'EN' : 'RU'}
        </button>
        <button type="button" class="ghost" onClick={signOut} data-test="sign-out">
          {t('signout')}
        </button>
      </header>
      <nav class="menu" aria-label={t('nav')}>
        {mine.map((s) => (
          <a href={`#/${s.path}`} aria-current={s === current ? 'page' : undefined} key={s.path}>
            {t(s.label)}
          </a>
        ))}
      </nav>
      <main id="main">{body}</main>
    </div>
  );
}
