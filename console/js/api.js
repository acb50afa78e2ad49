// api.js -- the console's one way to the /v1 API of the daemon that served
// it: the key goes in the Authorization header, from sessionStorage (this
// tab only), never in a URL. Answers that are problems (RFC 9457) become an
// ApiError that the views show as they are.
import { h } from './dom.js';

const KEY = 'yingpei.key';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  set(k) { sessionStorage.setItem(KEY, k); },
  forget() { sessionStorage.removeItem(KEY); },
  me: null,         // GET /v1/me
  catalogue: null,  // GET /v1/catalogue
};

export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem && typeof problem === 'object' ? problem : {};
    super(p.detail || p.title || `HTTP ${status}`);
    this.status = status;
    this.problem = p;
  }
}

export async function call(path, { method = 'GET', body, headers = {}, signal, key } = {}) {
  const hd = { Accept: 'application/json', ...headers };
  const k = key ?? session.key();
  if (k) hd.Authorization = `Bearer ${k}`;
  if (body !== undefined) hd['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers: hd, signal, cache: 'no-store', credentials: 'omit',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text.slice(0, 200) }; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401) window.dispatchEvent(new CustomEvent('yingpei:unauthorized'));
    throw err;
  }
  return { data, etag: res.headers.get('ETag') };
}

export async function get(path, opts) { return (await call(path, opts)).data; }

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---- codes, types, platforms (from GET /v1/catalogue) ----

export const CODE_RE = /^[A-Za-z]{2}-[0-9A-Za-z]{27}$/; // BIZCODE_LEN: prefix, dash, 26 symbols and a check symbol

export function typeOf(code) {
  const prefix = String(code).slice(0, 2).toUpperCase();
  return session.catalogue?.types.find(t => t.prefix === prefix) || null;
}

export function typeByName(type) {
  return session.catalogue?.types.find(t => t.type === type) || null;
}

export function isPeer(code) {
  const t = typeOf(code);
  return !!t && t.platform !== session.catalogue.platform;
}

export function objectPath(code) {
  const t = typeOf(code);
  return t ? `/v1/${t.collection}/${encodeURIComponent(code)}` : null;
}

// A code as a link to its object page, marked when the other platform keeps it.
export function codeLink(code, label) {
  if (!code || typeof code !== 'string' || !CODE_RE.test(code)) return code ?? '';
  const cls = `${label && label !== code ? 'named' : 'code'}${isPeer(code) ? ' peer' : ''}`;
  return h('a', { href: `#/object/${code}`, class: cls, title: code }, label || code);
}

// Names of codes, asked per collection in one request each (?code=A,B,...).
export async function namesOf(codes) {
  const byColl = new Map();
  for (const c of new Set(codes)) {
    const t = typeOf(c);
    if (!t) continue;
    if (!byColl.has(t.collection)) byColl.set(t.collection, []);
    byColl.get(t.collection).push(c);
  }
  const names = new Map();
  await Promise.all([...byColl].map(async ([coll, list]) => {
    for (let i = 0; i < list.length; i += 500) {
      const part = list.slice(i, i + 500);
      try {
        const page = await get(`/v1/${coll}${query({ code: part.join(','), status: 'all', limit: part.length })}`);
        for (const o of page.items) names.set(o.code, o.name || '');
      } catch { /* names are a nicety: the codes still show */ }
    }
  }));
  return names;
}

export function problemText(err) {
  if (!(err instanceof ApiError)) return String(err.message || err);
  const p = err.problem;
  const parts = [`${err.status} ${p.title || ''}`.trim()];
  if (p.detail) parts.push(p.detail);
  if (Array.isArray(p.errors))
    for (const e of p.errors) parts.push(`${e.field || e.name || ''}: ${e.message || e.detail || JSON.stringify(e)}`);
  return parts.join(' — ');
}
