// Personal data on request (152-FZ), as the owner does it in the cabinet: on a customer's card,
// "Выгрузить данные" saves the JSON file of everything held about them; "Удалить персональные
// данные" asks for the customer's number, refuses a wrong one under the field, then erases the
// person while the purchases stay. A manager sees neither action. Run by make test
// (scripts/browser-test.sh).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kopilka, MANAGER, OWNER, browser, dialogClosed, newPage, shot, signIn, waitText } from './harness.mjs';

let k;
let b;
let client;
let downloads;

before(async () => {
  k = await new Kopilka().start();
  await k.api('PUT', '/loyalty/settings/', '{"active": true, "currency": "points", "newCustomerSettings": {"type": "amount", "amount": 100}, "customerSettings": {"type": "amount", "amount": 0}}');
  await k.api('POST', '/employees/', { email: MANAGER.login, password: MANAGER.password, role: 'manager' });
  client = await k.api('POST', '/clients/', { phone: '79123450001', email: 'galina@example.com', name: 'Галина' });
  await k.api('POST', '/fiscal/orders/', '{"order": {"externalId": "pd-1", "receiptType": "sale", "amountCard": 250, "customerPhone": "79123450001", "items": [{"name": "Капучино", "price": 250, "quantity": 1}]}}');
  downloads = mkdtempSync(join(tmpdir(), 'kopilka-downloads-'));
  b = await browser();
});

after(async () => {
  if (b) await b.close();
  if (k) await k.stop();
  if (downloads) rmSync(downloads, { recursive: true, force: true });
});

const button = (page, text) => page.waitForSelector(`xpath/.//button[contains(., "${text}")]`);

describe('the owner', () => {
  test('downloads a customer\'s data, then erases it after typing their number', async () => {
    const page = await newPage(b);
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, browserContextId: page.browserContext().id });
    await signIn(page, k, OWNER);
    await page.goto(`${k.origin}/lk/#/customers/${client.id}`);
    await waitText(page, 'h1', 'Галина');

    // The export: a JSON file named after the customer, holding them and their sale.
    await (await button(page, 'Выгрузить данные')).click();
    const file = join(downloads, `client-${client.id}-personal-data.json`);
    for (let i = 0; i < 600 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(file), 'the export was saved');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    assert.equal(doc.client.name, 'Галина');
    assert.equal(doc.client.phone, '79123450001');
    assert.equal(doc.orders.length, 1);
    assert.equal(doc.orders[0].items[0].name, 'Капучино');

    // The erasure asks for the number: a wrong one is refused under the field.
    await (await button(page, 'Удалить персональные данные')).click();
    await page.waitForSelector('dialog input[name=confirm]');
    await shot(page, 'customer-erase-desktop');
    await page.type('dialog input[name=confirm]', String(client.id + 1000));
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('dialog .field.has-error .error');
    const msg = await page.$eval('dialog .field.has-error', (e) => e.textContent);
    assert.match(msg, new RegExp(`${client.id}`));
    assert.equal((await k.api('GET', `/clients/${client.id}/`)).name, 'Галина');

    await page.$eval('dialog input[name=confirm]', (e) => {
      e.value = '';
    });
    await page.type('dialog input[name=confirm]', String(client.id));
    await page.click('dialog button[type=submit]');
    await dialogClosed(page, k);
    await page.waitForSelector('[data-test=erased]');
    await waitText(page, 'h1', 'данные удалены');
    const shown = await page.$eval('[data-test=customer-card]', (e) => e.textContent);
    assert.ok(!shown.includes('Галина') && !shown.includes('79123450001'), 'no personal data on the card');
    assert.equal(await page.$('xpath/.//button[contains(., "Удалить персональные данные")]'), null);
    assert.equal(await page.$('xpath/.//button[contains(., "Изменить")]'), null);
    await page.waitForSelector('[data-test=orders] tbody tr'); // the purchase stays

    const erased = await k.api('GET', `/clients/${client.id}/`);
    assert.equal(erased.erased, true);
    assert.equal(erased.phone, null);
    assert.deepEqual(await k.api('GET', '/clients/?phone=79123450001'), []);
    assert.deepEqual(page.problems.filter((p) => !p.includes('400')), []);
    await page.close();
  });
});

describe('a manager', () => {
  test('sees neither action on a customer', async () => {
    const other = await k.api('POST', '/clients/', { phone: '79123450002', name: 'Денис' });
    const page = await newPage(b);
    await signIn(page, k, MANAGER);
    await page.goto(`${k.origin}/lk/#/customers/${other.id}`);
    await waitText(page, 'h1', 'Денис');
    await button(page, 'Начислить / списать');
    assert.equal(await page.$('xpath/.//button[contains(., "Выгрузить данные")]'), null);
    assert.equal(await page.$('xpath/.//button[contains(., "Удалить персональные данные")]'), null);
    await page.close();
  });
});
