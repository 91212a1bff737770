// The cabinet's one way to the server: the same JSON API the POS uses, authenticated by the
// session cookie plus the X-CSRF-Token header the sign-in answered (docs/API.md, "The cabinet's
// session"). Errors become ApiError, which knows the field an API message names.
export const BASE = '/ext/api/v1';

let csrf = null;
let onSignedOut = () => {};

// The session's CSRF token, kept for the next page load too (the cookie is HttpOnly; the token
// alone authenticates nothing).
export function setCsrf(token) {
  csrf = token || null;
  if (csrf) localStorage.setItem('kopilka.csrf', csrf);
  else localStorage.removeItem('kopilka.csrf');
}

// Called when the server says the session is gone (401): the app shows the sign-in form.
export function onSessionLost(fn) {
  onSignedOut = fn;
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.code = body && body.code;
    // API messages name the field first: "phone: must have 11 to 15 digits".
    const m = /^([A-Za-z_][A-Za-z0-9_.[\]]*): (.+)$/s.exec(message);
    this.field = m ? m[1] : null;
    this.rule = m ? m[2] : message;
    this.retryAfter = null;
  }
}

function newKey() {
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

// method, path under BASE (or absolute when it starts with /ext or /lk), a JSON body or a
// FormData / Blob. opts.raw: answer the Response itself. Every POST/PUT carries an
// Idempotency-Key, so a retried click never acts twice.
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let payload;
  if (body instanceof FormData || body instanceof Blob) {
    payload = body;
    if (body instanceof Blob && body.type) headers['Content-Type'] = body.type;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  if (method === 'POST' || method === 'PUT') headers['Idempotency-Key'] = opts.key || newKey();
  const url = path.startsWith('/ext/') || path.startsWith('/lk/') ? path : BASE + path;
  const r = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  if (opts.raw && r.ok) return r;
  const text = await r.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 200) };
    }
  }
  if (!r.ok) {
    const e = new ApiError(r.status, data);
    e.retryAfter = r.headers.get('Retry-After');
    if (r.status === 401 && !opts.signIn) onSignedOut();
    throw e;
  }
  return data;
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body, opts);
export const put = (path, body, opts) => api('PUT', path, body, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);

// A query string from an object, leaving out empty values.
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
