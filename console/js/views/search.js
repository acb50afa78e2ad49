// search.js -- find any object, on either platform, by code, name, account
// number or asset number (GET /v1/search).
import { h, table } from '../dom.js';
import { get, query, codeLink, typeOf, CODE_RE } from '../api.js';
import { t, currentLang } from '../i18n.js';

export function typeLabel(type, code) {
  const ty = typeOf(code);
  return ty ? (currentLang() === 'en' ? type.replace(/_/g, ' ') : ty.zh) : type;
}

export async function render(el, { params, signal, navigate }) {
  const q = (params.get('q') || '').trim();
  const input = h('input', { type: 'search', name: 'q', id: 'search-q', value: q, placeholder: t('search_hint'), 'aria-label': t('search_hint'), autocomplete: 'off' });
  el.append(h('form', {
    class: 'bar', id: 'search-form',
    onsubmit: ev => {
      ev.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      // A code is one object: straight to it.
      if (CODE_RE.test(v)) navigate(`#/object/${v.toUpperCase()}`);
      else navigate(`#/search?q=${encodeURIComponent(v)}`);
    },
  }, input, h('button', { type: 'submit' }, t('search'))));
  if (!q) return;
  const answer = await get(`/v1/search${query({ q, limit: 50 })}`, { signal });
  if (answer.partial) el.append(h('p', { class: 'warn' }, t('partial')));
  if (!answer.items.length) {
    el.append(h('p', { class: 'muted', id: 'search-empty' }, t('no_results')));
    return;
  }
  el.append(table([
    [t('code'), r => codeLink(r.code)],
    [t('name'), r => r.name || ''],
    [t('type'), r => typeLabel(r.type, r.code)],
    [t('platform'), r => r.platform],
    [t('matched'), r => r.matched],
  ], answer.items, { id: 'search-results', class: 'list' }));
}
