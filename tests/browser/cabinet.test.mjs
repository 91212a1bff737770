// The cabinet used as a person would, in Debian's chromium: sign in and out, every screen at a
// phone's and a desktop's width, a refund, a settings change and its preview, a CSV import with
// bad rows, a cashier kept from the owner's screens, a state change without the CSRF token
// refused, the session cookie's attributes. Run by make test (scripts/browser-test.sh).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASHIER, HISTORY_CLIENTS, Kopilka, MANAGER, OWNER, browser, dialogClosed, newPage, seed, shot, signIn, waitText } from './harness.mjs';

let k;
let b;

before(async () => {
  k = await new Kopilka().start();
  await seed(k);
  b = await browser();
});

after(async () => {
  if (b) await b.close();
  if (k) await k.stop();
});

// The text of every cell of a table, row by row.
const cells = (page, sel) => page.$$eval(`${sel} tbody tr`, (rows) => rows.map((r) => Array.from(r.cells, (c) => c.textContent.trim())));

describe('sign-in', () => {
  test('a wrong password is refused with the API message, the right one signs in, the cookie is HttpOnly and SameSite=Strict, sign-out ends it', async () => {
    const page = await newPage(b);
    await page.goto(`${k.origin}/lk/`);
    await page.waitForSelector('input[name=login]');
    await shot(page, 'signin-desktop');
    await page.type('input[name=login]', OWNER.login);
    await page.type('input[name=password]', 'wrong-password');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.notice.error');
    assert.equal(await page.$('[data-test=sign-out]'), null);

    await page.$eval('input[name=password]', (e) => {
      e.value = '';
    });
    await page.type('input[name=password]', OWNER.password);
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-test=sign-out]');

    const cookies = await page.cookies();
    const c = cookies.find((x) => x.name === 'kopilka_lk');
    assert.ok(c, 'the session cookie is set');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.equal(c.path, '/');
    assert.equal(c.secure, false, 'plain http: no Secure');
    assert.equal(await page.evaluate(() => document.cookie.includes('kopilka_lk')), false, 'scripts cannot read it');

    // A reload keeps the session (the page asks GET /session/ for its CSRF token).
    await page.reload();
    await page.waitForSelector('[data-test=sign-out]');

    await page.click('[data-test=sign-out]');
    await page.waitForSelector('input[name=login]');
    // The old cookie no longer authenticates anything.
    const r = await fetch(`${k.origin}/ext/api/v1/session/`, { headers: { Cookie: `kopilka_lk=${c.value}` } });
    assert.equal(r.status, 401);
    assert.deepEqual(page.problems.filter((p) => !p.includes('401')), []);
    await page.close();
  });

  test('a state change with the cookie but without the CSRF token is refused, and changes nothing', async () => {
    const page = await newPage(b);
    await signIn(page, k, OWNER);
    const before = await k.api('GET', '/clients/?phone=79123456701');
    const res = await page.evaluate(async () => {
      const r = await fetch('/ext/api/v1/clients/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ phone: '79990000001', name: 'CSRF' }), credentials: 'same-origin' });
      return { status: r.status, body: await r.json() };
    });
    assert.equal(res.status, 403);
    assert.match(res.body.message, /X-CSRF-Token/);
    const none = await k.api('GET', '/clients/?phone=79990000001');
    assert.equal(none.length, 0, 'no client was created');
    assert.equal(before.length, 1);
    await page.close();
  });
});

describe('the owner', () => {
  let page;
  before(async () => {
    page = await newPage(b);
    await signIn(page, k, OWNER);
  });
  after(async () => page.close());

  test('dashboard shows the members, the program sales and the chart', async () => {
    await page.goto(`${k.origin}/lk/#/dashboard`);
    await page.waitForSelector('[data-test=members]');
    const members = await page.$eval('[data-test=members] .tile-value', (e) => e.textContent);
    assert.equal(members, String(3 + HISTORY_CLIENTS));
    await page.waitForSelector('[data-test=chart] canvas');
    const top = await cells(page, '[data-test=top]');
    assert.equal(top.length, 3 + HISTORY_CLIENTS);
    await shot(page, 'dashboard-desktop');
  });

  test('customers: search with %, open a card, edit it, adjust the balance with a reason', async () => {
    await page.goto(`${k.origin}/lk/#/customers`);
    await page.waitForSelector('[data-test=customers] tbody tr');
    assert.equal((await cells(page, '[data-test=customers]')).length, 3 + HISTORY_CLIENTS);
    await page.type('input[name=q]', '%702');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('[data-test=customers] tbody tr').length === 1);
    const [row] = await cells(page, '[data-test=customers]');
    assert.equal(row[0], 'Борис');
    await shot(page, 'customers-desktop');
    await page.click('[data-test=customers] tbody tr a');
    await page.waitForSelector('[data-test=customer-card]');
    await waitText(page, 'h1', 'Борис');
    // 100 for the first sale + 5 % of 300 for the second = 115 points.
    await waitText(page, '[data-test=balance-points] dd', '115');
    await page.waitForSelector('[data-test=history] tbody tr');
    await shot(page, 'customer-desktop');

    // Edit with a bad email: the API's message stands next to the field.
    await page.click('xpath/.//button[contains(., "Изменить")]');
    await page.waitForSelector('dialog input[name=email]');
    await page.$eval('dialog input[name=email]', (e) => {
      e.value = '';
    });
    await page.type('dialog input[name=email]', 'not-an-email');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('dialog .field.has-error .error');
    const msg = await page.$eval('dialog .field.has-error', (e) => e.textContent);
    assert.match(msg, /Email/);
    await page.$eval('dialog input[name=email]', (e) => {
      e.value = '';
    });
    await page.type('dialog input[name=email]', 'boris2@example.com');
    await page.click('dialog button[type=submit]');
    await dialogClosed(page, k);
    const c = (await k.api('GET', '/clients/?phone=79123456702'))[0];
    assert.equal(c.email, 'boris2@example.com');

    // Adjust: a reason is required; then +10.5 points.
    await page.click('xpath/.//button[contains(., "Начислить / списать")]');
    await page.waitForSelector('dialog input[name=amount]');
    await page.type('dialog input[name=amount]', '10,5');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('dialog .error');
    await page.type('dialog input[name=reason]', 'Компенсация за ожидание');
    await page.click('dialog button[type=submit]');
    await dialogClosed(page, k);
    await waitText(page, '[data-test=balance-points] dd', '125,5');
    const bal = await k.api('GET', `/clients/${c.id}/balance/`);
    assert.equal(bal[0].amount, 125.5);
  });

  test('orders: open a sale, refund one item, then the rest', async () => {
    await page.goto(`${k.origin}/lk/#/orders`);
    await page.waitForSelector('[data-test=orders] tbody tr');
    await shot(page, 'orders-desktop');
    const sale = (await k.api('GET', '/fiscal/orders/?receipt_type=sale')).find((o) => o.externalOrderNumber === 's-1-1');
    await page.goto(`${k.origin}/lk/#/orders/${sale.id}`);
    await page.waitForSelector('[data-test=items] input.qty');
    await shot(page, 'order-desktop');
    const inputs = await page.$$('[data-test=items] input.qty');
    assert.equal(inputs.length, 2);
    await inputs[1].type('1'); // the croissant
    await page.click('xpath/.//button[contains(., "Вернуть выбранное")]');
    await page.waitForSelector('[data-test=refund-done]');
    await waitText(page, '[data-test=order-status]', 'частично');
    let items = await k.api('GET', `/fiscal/orders/${sale.id}/items/`);
    assert.deepEqual(items.map((i) => i.refundedQuantity), [0, 1]);
    await page.click('xpath/.//button[contains(., "Вернуть весь заказ")]');
    // Exactly "возвращён": the partial status ("возвращён частично") contains it too.
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent.trim() === 'возвращён',
      {},
      '[data-test=order-status]',
    );
    items = await k.api('GET', `/fiscal/orders/${sale.id}/items/`);
    assert.deepEqual(items.map((i) => i.refundedQuantity), [1, 1]);
    const o = await k.api('GET', `/fiscal/orders/${sale.id}/`);
    assert.equal(o.status, 'refunded');
  });

  test('program: the preview follows the settings, a bad value is shown at its field, a good one is saved', async () => {
    await page.goto(`${k.origin}/lk/#/program`);
    await page.waitForSelector('[data-test=preview]');
    await waitText(page, '[data-test=preview]', '50');
    await page.$eval('input[name="customerSettings.amount"]', (e) => {
      e.value = '';
    });
    await page.type('input[name="customerSettings.amount"]', '7,5');
    await waitText(page, '[data-test=preview]', '75');
    await shot(page, 'program-desktop');
    await page.$eval('input[name=maxSpendPercent]', (e) => {
      e.value = '';
    });
    await page.type('input[name=maxSpendPercent]', '150');
    await page.click('[data-test=settings] button[type=submit]');
    await page.waitForSelector('.field.has-error');
    assert.match(await page.$eval('.field.has-error', (e) => e.textContent), /maxSpendPercent|100/);
    await page.$eval('input[name=maxSpendPercent]', (e) => {
      e.value = '';
    });
    await page.type('input[name=maxSpendPercent]', '50');
    await page.click('[data-test=settings] button[type=submit]');
    await page.waitForSelector('.notice.ok');
    const s = await k.api('GET', '/loyalty/settings/');
    assert.equal(s.customerSettings.amount, 7.5);
    assert.equal(s.maxSpendPercent, 50);
  });

  test('staff and API keys: a key is shown once', async () => {
    await page.goto(`${k.origin}/lk/#/staff`);
    await page.waitForSelector('[data-test=staff] tbody tr');
    assert.equal((await cells(page, '[data-test=staff]')).length, 2);
    await page.click('xpath/.//button[contains(., "Создать ключ")]');
    await page.waitForSelector('[data-test=new-key] code');
    const key = await page.$eval('[data-test=new-key] code', (e) => e.textContent);
    assert.match(key, /^kpk_\d+_[0-9a-f]{32}$/);
    const r = await fetch(`${k.origin}/ext/api/v1/fiscal/auth/`, { headers: { Authorization: `Basic ${Buffer.from(`${OWNER.login}:${key}`).toString('base64')}` } });
    assert.equal(r.status, 200);
    await shot(page, 'staff-desktop');
  });

  test('import: 1,000 rows with bad ones listed by line, then applied', async () => {
    const lines = ['телефон;email;имя;баллы;срок'];
    for (let i = 0; i < 1000; i++) {
      const phone = `7955${String(i).padStart(7, '0')}`;
      if (i === 10) lines.push(`12;;Плохой телефон;5;`);
      else if (i === 20) lines.push(`${phone};;Плохие баллы;abc;`);
      else if (i === 30) lines.push(`79550000000;;Дубликат;1;`);
      else lines.push(`${phone};;Клиент ${i};${i % 50}.25;`);
    }
    const file = join(k.dir, 'clients.csv');
    writeFileSync(file, `${lines.join('\r\n')}\r\n`);
    await page.goto(`${k.origin}/lk/#/import`);
    const input = await page.waitForSelector('input[type=file][name=file]');
    await input.uploadFile(file);
    await page.click('xpath/.//button[contains(., "Проверить")]');
    await page.waitForSelector('[data-test=import-problems] tbody tr');
    const problems = await cells(page, '[data-test=import-problems]');
    assert.deepEqual(
      problems.map((p) => p[0]),
      ['12', '22', '32'],
    );
    await shot(page, 'import-desktop');
    await page.click('[data-test=import-preview] button.primary');
    await waitText(page, '[data-test=import-status]', 'Готово: загружено 997');
    const c = await k.api('GET', '/clients/?phone=79550000999');
    assert.equal(c.length, 1);
    const bal = await k.api('GET', `/clients/${c[0].id}/balance/`);
    assert.equal(bal[0].amount, 49.25);
  });
});

describe('the cashier', () => {
  test("sees the cashier's screens only and is refused the owner's", async () => {
    const page = await newPage(b, { phone: true });
    await signIn(page, k, CASHIER);
    const menu = await page.$$eval('nav.menu a', (as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(menu, ['#/customers', '#/orders']);
    await page.waitForSelector('[data-test=customers] tbody tr');
    await shot(page, 'customers-phone');
    for (const screen of ['dashboard', 'program', 'staff', 'import']) {
      await page.goto(`${k.origin}/lk/#/${screen}`);
      await page.waitForSelector('[data-test=no-access]');
    }
    // And the API behind them says 403 to the cashier's session too.
    const status = await page.evaluate(async () => {
      const s = await (await fetch('/ext/api/v1/session/')).json();
      const r = await fetch('/ext/api/v1/employees/', { headers: { 'X-CSRF-Token': s.csrf_token } });
      return r.status;
    });
    assert.equal(status, 403);
    await page.close();
  });
});

describe('phone width', () => {
  test('the manager works every screen of theirs at 390 px', async () => {
    const page = await newPage(b, { phone: true });
    await signIn(page, k, MANAGER);
    for (const [screen, sel] of [
      ['dashboard', '[data-test=members]'],
      ['customers', '[data-test=customers] tbody tr'],
      ['orders', '[data-test=orders] tbody tr'],
      ['program', '[data-test=preview]'],
      ['import', 'input[type=file]'],
    ]) {
      await page.goto(`${k.origin}/lk/#/${screen}`);
      await page.waitForSelector(sel);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${screen} scrolls sideways by ${overflow}px`);
      await shot(page, `${screen}-phone`);
    }
    // A customer's card and an order, opened from their lists as a person would.
    await page.goto(`${k.origin}/lk/#/customers`);
    await page.waitForSelector('[data-test=customers] tbody tr a');
    await page.click('[data-test=customers] tbody tr a');
    await page.waitForSelector('[data-test=customer-card] [data-test=balance-points]');
    await shot(page, 'customer-phone');
    await page.goto(`${k.origin}/lk/#/orders`);
    await page.waitForSelector('[data-test=orders] tbody tr a');
    await page.click('[data-test=orders] tbody tr a');
    await page.waitForSelector('[data-test=items] tbody tr');
    await shot(page, 'order-phone');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test("the sign-in form and the owner's staff screen at 390 px", async () => {
    const page = await newPage(b, { phone: true });
    await page.goto(`${k.origin}/lk/`);
    await page.waitForSelector('input[name=login]');
    await shot(page, 'signin-phone');
    await signIn(page, k, OWNER);
    await page.goto(`${k.origin}/lk/#/staff`);
    await page.waitForSelector('[data-test=staff] tbody tr');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `staff scrolls sideways by ${overflow}px`);
    await shot(page, 'staff-phone');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});
