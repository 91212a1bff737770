// Every word the cabinet shows exists in Russian and in English: each key one dictionary has,
// the other has too, and every t('key') written in web/src names a key (a t(`a.${x}`) template
// is checked by its prefix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './harness.mjs';

const { DICTIONARIES } = await import(join(REPO, 'web/src/i18n.js'));

function sources(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : /\.(jsx?|mjs)$/.test(n) ? [p] : [];
  });
}

test('the two dictionaries have the same keys', () => {
  const ru = Object.keys(DICTIONARIES.ru).sort();
  const en = Object.keys(DICTIONARIES.en).sort();
  assert.deepEqual(ru.filter((x) => !en.includes(x)), [], 'in Russian only');
  assert.deepEqual(en.filter((x) => !ru.includes(x)), [], 'in English only');
});

test('every key the screens use is in the dictionaries', () => {
  const keys = Object.keys(DICTIONARIES.ru);
  const missing = [];
  for (const file of sources(join(REPO, 'web/src')).filter((f) => !f.endsWith('i18n.js'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\((['`])([^'`$]*)(\$\{)?/g)) {
      const [, , key, template] = m;
      const ok = template ? keys.some((k) => k.startsWith(key)) : keys.includes(key);
      if (!ok) missing.push(`${file.slice(REPO.length + 1)}: ${key}${template ? '…' : ''}`);
    }
    for (const m of text.matchAll(/label: '([a-z]+\.[a-zA-Z.]+)'/g)) if (!keys.includes(m[1])) missing.push(`${file}: ${m[1]}`);
  }
  assert.deepEqual(missing, []);
});
