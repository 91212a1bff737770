// The customer's side in Debian's chromium (issue 15): the card page /c/{token} at a phone's
// width (390 px) loads without a policy violation or a horizontal scroll, shows the balance and
// the coupon's code, and its QR code — decoded from the screenshot by zbarimg (zbar-tools) — is
// the client's token; the receipt page's fiscal QR code decodes to the tax service's check text,
// and its link leads to the card. With KOPILKA_SCREENSHOTS set (make screenshots) the card page
// is written to docs/screenshots/card.png and the receipt to receipt.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Kopilka, OWNER, browser, newPage, shot } from './harness.mjs';

let k;
let b;
let dir;

// A small PNG (a coloured square with a lighter disc), made here so the test needs no file.
function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let i = 0; i < 8; i++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function logoPng(size = 96) {
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3);
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - size / 2, y - size / 2);
      const [r, g, bl] = d < size * 0.3 ? [0xf5, 0xe6, 0xc8] : [0x6b, 0x3e, 0x26];
      row.set([r, g, bl], 1 + x * 3);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

// What zbarimg reads in a PNG: one line per symbol, without the "QR-Code:" prefix.
function decode(png) {
  const r = spawnSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', png], { encoding: 'utf8' });
  assert.equal(r.status, 0, `zbarimg found no QR code in ${png}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

before(async () => {
  k = await new Kopilka().start();
  dir = mkdtempSync(join(tmpdir(), 'kopilka-card-'));
  await k.api('PUT', '/loyalty/settings/contact_info/', { company: 'Кофейня «Зерно»', phone: '+7 912 000-00-00', brandColor: '#6b3e26' });
  const form = new FormData();
  form.append('logo', new Blob([logoPng()], { type: 'image/png' }), 'logo.png');
  const up = await fetch(`${k.origin}/ext/api/v1/loyalty/settings/contact_info/logo/`, { method: 'POST', headers: { Authorization: `Basic ${Buffer.from(`${OWNER.login}:${OWNER.password}`).toString('base64')}` }, body: form });
  assert.equal(up.status, 200, await up.text());
  await k.api('POST', '/loyalty/coupons/', { title: 'Кофе в подарок', header: 'Любой кофе 0,3 л', validDays: 30 });
  await k.api('PUT', '/loyalty/settings/', { active: true, currency: 'points', newCustomerSettings: { type: 'amount', amount: 100, validDays: 365, couponId: 1 }, customerSettings: { type: 'percentage', amount: 5, validDays: 365 } });
  b = await browser();
});

after(async () => {
  if (b) await b.close();
  if (k) await k.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the customer', () => {
  let client;
  let receipt;
  const fiscal = { fn: '9960440300123456', fd: '40211', fp: '2817401935' };

  before(async () => {
    client = await k.api('POST', '/clients/', { phone: '79123456701', name: 'Анна' });
    await k.api('POST', '/fiscal/orders/', { order: { externalId: 'c-1', receiptType: 'sale', amountCard: 450, customerPhone: '79123456701', items: [{ name: 'Капучино', price: 250, quantity: 1 }, { name: 'Круассан', price: 200, quantity: 1 }] } });
    // 2026-01-05 06:30 UTC: 09:30 in Moscow, the default --local-time-offset-minutes.
    receipt = await k.api('POST', '/fiscal/orders/', { order: { externalId: 'c-2', receiptType: 'sale', amountCard: 290, customerPhone: '79123456701', externalDate: 1767594600000, ...fiscal, items: [{ name: 'Латте', price: 150, quantity: 1 }, { name: 'Сахар', price: 80, quantity: 1.5, unit: 'kg' }, { name: 'Вода', price: 20, quantity: 1, unit: 'L' }] }, amount: 20, currency: 'points' });
  });

  test('the card at 390 px: balance, coupon code, operations, and a QR code that decodes to the token', async () => {
    const page = await newPage(b, { phone: true });
    const r = await page.goto(client.cardURL.replace(/^https?:\/\/[^/]+/, k.origin));
    assert.equal(r.status(), 200);
    assert.equal(r.headers()['cache-control'], 'no-store');
    await page.waitForSelector('svg.qr');
    const balance = await page.$eval('.balance', (e) => e.textContent);
    // 100 for the first sale (a new customer's rule) + 5 % of the second's 290 − the 20 it spent.
    assert.match(balance, /^94\.5 балла/);
    const coupons = await page.$$eval('ul.list li', (lis) => lis.map((li) => li.textContent));
    assert.equal(coupons.length, 1);
    assert.match(coupons[0], /Кофе в подарок.*Код: \d{6}/);
    const ops = await page.$$eval('table tr', (trs) => trs.length);
    assert.ok(ops >= 3, `operations listed: ${ops}`);
    assert.equal(await page.$eval('header.brand h1', (e) => e.textContent), 'Кофейня «Зерно»');
    assert.ok(await page.$eval('header.brand img', (e) => e.complete && e.naturalWidth === 96), 'the logo loaded');
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scroll at 390 px');
    const png = join(dir, 'card.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.deepEqual(decode(png), [client.token]);
    await shot(page, 'card');
    assert.deepEqual(page.problems, [], 'no console error (a CSP violation would be one)');
    await page.close();
  });

  test('the receipt: units in Russian, the fiscal QR code decodes to the tax service text, the link leads to the card', async () => {
    const page = await newPage(b, { phone: true });
    const token = receipt.publicURL.split('/').pop();
    await page.goto(`${k.origin}/r/${token}`);
    await page.waitForSelector('figure svg.qr');
    const rows = await page.$$eval('table tr', (trs) => trs.map((tr) => tr.textContent));
    assert.ok(rows.some((t) => t.includes('1.5 кг × 80')), rows.join('|'));
    assert.ok(rows.some((t) => t.includes('1 шт × 150')), rows.join('|'));
    assert.ok(rows.some((t) => t.includes('1 л × 20')), rows.join('|'));
    const png = join(dir, 'receipt.png');
    await page.screenshot({ path: png, fullPage: true });
    assert.deepEqual(decode(png), [`t=20260105T0930&s=290.00&fn=${fiscal.fn}&i=${fiscal.fd}&fp=${fiscal.fp}&n=1`]);
    await shot(page, 'receipt');
    await Promise.all([page.waitForNavigation(), page.click('xpath/.//a[contains(., "Моя карта")]')]);
    assert.equal(new URL(page.url()).pathname, `/c/${client.token}`);
    await page.waitForSelector('svg.qr');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('an unknown card is a 404 page, in the same style', async () => {
    const page = await newPage(b, { phone: true });
    const r = await page.goto(`${k.origin}/c/${'0'.repeat(32)}`);
    assert.equal(r.status(), 404);
    await page.waitForSelector('main section');
    assert.match(await page.$eval('main section', (e) => e.textContent), /Такой карты нет/);
    assert.deepEqual(page.problems.filter((p) => !p.includes('404')), []);
    await page.close();
  });
});
