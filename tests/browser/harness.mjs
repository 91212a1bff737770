// What every browser test needs: a kopilkad of its own (the binary of $KOPILKAD, default
// build/kopilkad) on a free port of 127.0.0.1 with a fresh SQLite database (or, with
// $KOPILKA_TEST_PG_URI, a fresh database of that PostgreSQL cluster per test file), a merchant with staff and data made through the
// API, and Debian's chromium driven by puppeteer-core. Everything started here is stopped by
// stop(), by the PIDs it started.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KOPILKAD = resolve(REPO, process.env.KOPILKAD || 'build/kopilkad');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const OWNER = { login: 'owner@cafe.test', password: 'owner-pass-1' };
export const MANAGER = { login: 'manager@cafe.test', password: 'manager-pass-1' };
export const CASHIER = { login: 'cashier@cafe.test', password: 'cashier-pass-1' };

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A new database beside the one of $KOPILKA_TEST_PG_URI: each test file inits its own merchant.
let pgDatabases = 0;
function freshPgDatabase(uri) {
  const name = `kopilka_browser_${process.pid}_${++pgDatabases}`;
  const r = spawnSync('psql', [uri, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not create the database ${name}: ${r.stderr}`);
  return `${uri.replace(/\/[^/]*$/, '')}/${name}`;
}

export class Kopilka {
  constructor({ flags = [] } = {}) {
    this.flags = flags;
    this.dir = mkdtempSync(join(tmpdir(), 'kopilka-browser-'));
    this.db = process.env.KOPILKA_TEST_PG_URI ? freshPgDatabase(process.env.KOPILKA_TEST_PG_URI) : join(this.dir, 'k.db');
    this.proc = null;
  }

  async start() {
    if (!this.inited) {
      const init = spawnSync(KOPILKAD, ['init', '--db', this.db, '--email', OWNER.login, '--password', OWNER.password, '--name', 'Кофейня «Зерно»'], { encoding: 'utf8' });
      if (init.status !== 0) throw new Error(`kopilkad init failed: ${init.stderr}`);
      this.inited = true;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      this.logPath = join(this.dir, `serve-${attempt}.log`);
      const out = (await import('node:fs')).openSync(this.logPath, 'w');
      const clock = this.clockOffset ? ['--clock-offset-seconds', String(this.clockOffset)] : [];
      this.proc = spawn(KOPILKAD, ['serve', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, '--threads', '4', '--media-dir', join(this.dir, 'media'), ...clock, ...this.flags], { stdio: ['ignore', out, out] });
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && this.proc.exitCode === null) {
        try {
          const r = await fetch(`${this.origin}/healthz`);
          if (r.ok) return this;
        } catch {
          await sleep(50);
        }
      }
      await this.stopServer();
    }
    throw new Error(`kopilkad serve did not start: ${this.logTail()}`);
  }

  get origin() {
    return `http://127.0.0.1:${this.port}`;
  }

  logTail() {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-3000);
    } catch {
      return '';
    }
  }

  // The API as the POS calls it (Basic auth), for making data and checking effects.
  async api(method, path, body, who = OWNER) {
    const headers = { Authorization: `Basic ${Buffer.from(`${who.login}:${who.password}`).toString('base64')}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(`${this.origin}/ext/api/v1${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return data;
  }

  async stopServer() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    await gone;
    clearTimeout(t);
  }

  async stop() {
    await this.stopServer();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// Restarts the server with its clock moved by days (negative: the past).
export async function travel(k, days) {
  await k.stopServer();
  k.clockOffset = days * 86400;
  await k.start();
}

// The merchant every test starts from: a program, a coupon, staff, three customers with two
// orders each today, and four weeks of history by four regulars (the dashboard's chart).
export const HISTORY_CLIENTS = 4;
export async function seed(k) {
  await travel(k, -28);
  await k.api('POST', '/loyalty/coupons/', { title: 'Кофе в подарок', header: 'Любой кофе', subHeader: 'Один раз', validDays: 30 });
  await k.api('PUT', '/loyalty/settings/', '{"active": true, "currency": "points", "newCustomerSettings": {"type": "amount", "amount": 100, "validDays": 365, "couponId": 1}, "customerSettings": {"type": "percentage", "amount": 5, "validDays": 365}}');
  await k.api('POST', '/employees/', { email: MANAGER.login, password: MANAGER.password, role: 'manager', firstName: 'Мария' });
  await k.api('POST', '/employees/', { email: CASHIER.login, password: CASHIER.password, role: 'cashier', firstName: 'Кирилл' });
  // Every third day from 28 days ago: each regular buys (all of them on the first day, which
  // brings them 100 points; later now and then paying 20 of them).
  const regulars = ['Глеб', 'Дарья', 'Егор', 'Жанна'];
  for (let i = 1; i <= HISTORY_CLIENTS; i++) await k.api('POST', '/clients/', { phone: `7912345680${i}`, name: regulars[i - 1] });
  for (let j = 0, back = 28; back >= 1; j++, back -= 3) {
    if (j > 0) await travel(k, -back);
    for (let i = 1; i <= HISTORY_CLIENTS; i++) {
      if (j > 0 && (j + i) % 3 === 0) continue;
      const price = 150 + ((back * 7 + i * 40) % 300);
      const spend = j > 0 && (j + i) % 4 === 0 ? ', "amount": 20, "currency": "points"' : '';
      await k.api('POST', '/fiscal/orders/', `{"order": {"externalId": "h-${back}-${i}", "receiptType": "sale", "amountCard": ${price}, "customerPhone": "7912345680${i}", "items": [{"name": "Раф", "price": ${price}, "quantity": 1}]}${spend}}`);
    }
  }
  await travel(k, 0);
  const people = [
    ['79123456701', 'anna@example.com', 'Анна'],
    ['79123456702', 'boris@example.com', 'Борис'],
    ['79123456703', 'vera@example.com', 'Вера'],
  ];
  let n = 0;
  for (const [phone, email, name] of people) {
    n += 1;
    await k.api('POST', '/clients/', { phone, email, name });
    await k.api('POST', '/fiscal/orders/', `{"order": {"externalId": "s-${n}-1", "receiptType": "sale", "amountCard": 450, "customerPhone": "${phone}", "items": [{"name": "Капучино", "price": 250, "quantity": 1}, {"name": "Круассан", "price": 200, "quantity": 1}]}}`);
    await k.api('POST', '/fiscal/orders/', `{"order": {"externalId": "s-${n}-2", "receiptType": "sale", "amountCash": 300, "customerPhone": "${phone}", "items": [{"name": "Латте", "price": 150, "quantity": 2}]}}`);
  }
}

export async function browser() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--lang=ru-RU'],
  });
}

// A new page, in a browser context of its own (its own cookies and storage: a person at another
// device), at the phone's width or the desktop's; every console error and uncaught exception is
// kept on page.problems, so a test can assert none happened.
export async function newPage(b, { phone = false } = {}) {
  const context = await b.createBrowserContext();
  const page = await context.newPage();
  const close = page.close.bind(page);
  page.close = async () => {
    await close();
    await context.close();
  };
  await page.setViewport(phone ? { width: 390, height: 844, deviceScaleFactor: 1, isMobile: true, hasTouch: true } : { width: 1280, height: 860 });
  page.problems = [];
  page.on('console', (m) => m.type() === 'error' && page.problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(30000); // a busy 2-core machine: a wait, never a measure
  return page;
}

export async function signIn(page, k, who) {
  await page.goto(`${k.origin}/lk/`);
  await page.waitForSelector('input[name=login]');
  await page.type('input[name=login]', who.login);
  await page.type('input[name=password]', who.password);
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-test=sign-out]');
}

// Waits until the element of selector holds text (or a function of it returns true).
export async function waitText(page, selector, text) {
  await page.waitForFunction(
    (sel, want) => {
      const el = document.querySelector(sel);
      return el && el.textContent.includes(want);
    },
    {},
    selector,
    text,
  );
}

// Waits for the open dialog to close (a form submitted and accepted). On a timeout the error
// says what the dialog shows (an API refusal stays in it) and ends with the server's last log
// lines (one per request, with its status), so a failure in CI explains itself.
export async function dialogClosed(page, k) {
  try {
    await page.waitForFunction(() => !document.querySelector('dialog'));
  } catch (e) {
    const shows = await page.$eval('dialog', (d) => d.innerText).catch(() => '(gone)');
    const busy = await page.$eval('dialog button[type=submit]', (b) => b.disabled).catch(() => null);
    throw new Error(`the dialog did not close (${e.message}); it shows ${JSON.stringify(shows)}, submit disabled: ${busy}\nkopilkad's log ends:\n${k.logTail()}`);
  }
}

// Screenshots of the screens for docs/screenshots/, written when KOPILKA_SCREENSHOTS names a
// directory (make screenshots); otherwise into the test's own directory, where nothing keeps them.
export async function shot(page, name) {
  const dir = process.env.KOPILKA_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await sleep(150); // transitions and the chart's first paint
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}
