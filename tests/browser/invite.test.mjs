// Inviting customers from the cabinet (docs/CABINET.md, "Program"): the owner opens Program →
// Contacts and logo, reads the join link in its labelled field, copies it, and the QR code beside
// it — decoded from a screenshot by zbarimg (zbar-tools) — is that link; the line under it says
// the page takes people only while the program is active, and follows the program being turned
// on; the link then opens the join form. A customer's birthday is set in the Edit dialog.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kopilka, OWNER, browser, dialogClosed, newPage, shot, signIn, waitText } from './harness.mjs';

let k;
let b;
let dir;

// What zbarimg reads in a PNG: one line per symbol.
function decode(png) {
  const r = spawnSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', png], { encoding: 'utf8' });
  assert.equal(r.status, 0, `zbarimg found no QR code in ${png}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

// Clicks the button (or tab) whose visible text is text.
async function press(page, text) {
  const el = await page.waitForSelector(`xpath/.//button[normalize-space(.)="${text}"]`);
  // Into the middle of the screen, as a person scrolls to it: not under the sticky top bar.
  await el.evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await el.click();
}

// The input a <label> with this text is for.
async function labelled(page, text) {
  const label = await page.waitForSelector(`xpath/.//label[normalize-space(.)="${text}"]`);
  const id = await label.evaluate((l) => l.htmlFor);
  return page.waitForSelector(`[id="${id}"]`);
}

before(async () => {
  k = await new Kopilka().start();
  dir = mkdtempSync(join(tmpdir(), 'kopilka-invite-'));
  await k.api('POST', '/clients/', { phone: '79123456701', name: 'Анна' });
  b = await browser();
});

after(async () => {
  if (b) await b.close();
  if (k) await k.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inviting customers', () => {
  test('the join link, copied, its QR code decodes to it, and the program must be on for the page', async () => {
    const joinURL = (await k.api('GET', '/loyalty/settings/contact_info/')).joinURL;
    const page = await newPage(b);
    await page.browserContext().overridePermissions(k.origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
    await signIn(page, k, OWNER);
    await page.goto(`${k.origin}/lk/#/program`);
    await press(page, 'Контакты и логотип');
    await page.waitForSelector('xpath/.//h2[normalize-space(.)="Приглашение клиентов"]');

    const link = await labelled(page, 'Ссылка для вступления');
    assert.equal(await link.evaluate((e) => e.value), joinURL);
    await press(page, 'Копировать ссылку');
    await waitText(page, '[data-test=invite] [role=status]', 'Ссылка скопирована.');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), joinURL);

    // A fresh merchant's program is off: the page would take no one, and the cabinet says so.
    await waitText(page, '[data-test=invite-active]', 'Страница принимает людей, только пока программа работает.');
    await waitText(page, '[data-test=invite-active]', 'Сейчас программа выключена');

    const img = await page.waitForSelector(`img[alt="QR-код ссылки ${joinURL}"]`);
    await page.waitForFunction((e) => e.complete && e.naturalWidth > 0, {}, img);
    const png = join(dir, 'join-qr.png');
    await img.screenshot({ path: png });
    assert.deepEqual(decode(png), [joinURL]);
    const download = await page.$('xpath/.//a[normalize-space(.)="Скачать QR-код (SVG)"]');
    assert.ok(download, 'a link to download the QR code');
    assert.equal(await download.evaluate((a) => a.getAttribute('download')), 'join-qr.svg');
    await shot(page, 'invite-desktop');

    // Turned on as the merchant would, on the Accrual tab; the line follows.
    await press(page, 'Начисление');
    const active = await page.waitForSelector('xpath/.//label[contains(., "Программа работает")]/input');
    await active.click();
    await page.click('[data-test=settings] button[type=submit]');
    await page.waitForSelector('.notice.ok');
    assert.equal((await k.api('GET', '/loyalty/settings/')).active, true);
    await press(page, 'Контакты и логотип');
    await waitText(page, '[data-test=invite-active]', 'Сейчас программа работает.');

    // The link is the join form (--public-url is the default here: the path on this server).
    const join_ = await newPage(b, { phone: true });
    const r = await join_.goto(`${k.origin}${new URL(joinURL).pathname}`);
    assert.equal(r.status(), 200);
    await join_.waitForSelector('input[name=phone]');
    await join_.close();
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('at 390 px the invitation fits the screen and its QR code still decodes', async () => {
    const joinURL = (await k.api('GET', '/loyalty/settings/contact_info/')).joinURL;
    const page = await newPage(b, { phone: true });
    await signIn(page, k, OWNER);
    await page.goto(`${k.origin}/lk/#/program`);
    await press(page, 'Контакты и логотип');
    const img = await page.waitForSelector(`img[alt="QR-код ссылки ${joinURL}"]`);
    await page.waitForFunction((e) => e.complete && e.naturalWidth > 0, {}, img);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the contacts tab scrolls sideways by ${overflow}px`);
    const png = join(dir, 'join-qr-phone.png');
    await img.screenshot({ path: png });
    assert.deepEqual(decode(png), [joinURL]);
    await shot(page, 'invite-phone');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe("a customer's birthday", () => {
  test('set in the Edit dialog, a future date refused at its field, then cleared', async () => {
    const [c] = await k.api('GET', '/clients/?phone=79123456701');
    const page = await newPage(b);
    await signIn(page, k, OWNER);
    await page.goto(`${k.origin}/lk/#/customers/${c.id}`);
    await page.waitForSelector('[data-test=customer-card]');
    const setBirthday = async (value) => {
      await press(page, 'Изменить');
      const input = await labelled(page, 'Дата рождения');
      // A date input takes its value from the browser's picker; set it as the picker would.
      await input.evaluate((e, v) => {
        e.value = v;
        e.dispatchEvent(new Event('input', { bubbles: true }));
      }, value);
      await page.click('dialog button[type=submit]');
    };

    await setBirthday('2990-01-01');
    await page.waitForSelector('dialog .field.has-error');
    assert.match(await page.$eval('dialog .field.has-error', (e) => e.textContent), /^Дата рождения.*YYYY-MM-DD/);
    await press(page, 'Отмена');
    await dialogClosed(page, k);

    await setBirthday('1990-02-28');
    await dialogClosed(page, k);
    await waitText(page, '[data-test=birthday] dd', '28 февраля 1990');
    assert.equal((await k.api('GET', `/clients/${c.id}/`)).birthday, '1990-02-28');

    await setBirthday('');
    await dialogClosed(page, k);
    await page.waitForFunction(() => !document.querySelector('[data-test=birthday]'));
    assert.equal((await k.api('GET', `/clients/${c.id}/`)).birthday, null);
    assert.deepEqual(page.problems.filter((p) => !p.includes('400')), []);
    await page.close();
  });
});
