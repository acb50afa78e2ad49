// outages.js -- outages (cust-svc keeps them: DESIGN §10) and the outages
// predicted from trouble calls; one outage with its frozen customer list
// and each customer's notices.
import { h, table, fieldsTable, rowsInto, moreButton, when } from '../dom.js';
import { get, query, codeLink, namesOf, CODE_RE } from '../api.js';
import { t } from '../i18n.js';

const STATES = ['announced', 'started', 'restored', 'cancelled'];

function codes(list, names) {
  return (list || []).flatMap((c, i) => [i ? ', ' : '', codeLink(c, names?.get(c) || c)]);
}

export async function render(el, { arg, params, signal, navigate, showError }) {
  if (arg) {
    if (!CODE_RE.test(arg)) throw new Error(`${t('not_found')}: ${arg}`);
    return one(el, arg.toUpperCase(), signal, showError);
  }
  const state = params.get('state') || '';
  const stateSel = h('select', {
    id: 'outages-state',
    onchange: ev => navigate(`#/outages${ev.target.value ? `?state=${ev.target.value}` : ''}`),
  }, h('option', { value: '' }, t('all')), STATES.map(s => h('option', { value: s, selected: s === state }, s)));
  const [list, predicted] = await Promise.all([
    get(`/v1/outages${query({ state, limit: 100 })}`, { signal }),
    get('/v1/outages/predicted', { signal }),
  ]);
  const names = await namesOf(list.items.flatMap(o => o.elements || []));
  el.append(h('h1', null, t('outages')), h('div', { class: 'bar' }, t('state'), ' ', stateSel));
  const columns = [
    [t('code'), r => h('a', { href: `#/outages/${r.code}` }, r.code)],
    [t('kind'), r => r.kind],
    [t('state'), r => h('span', { class: `tag ${r.state}` }, r.state)],
    [t('starts_at'), r => when(r.starts_at)],
    [t('ends_at'), r => when(r.ends_at)],
    [t('elements'), r => codes(r.elements, names)],
    [t('customers'), r => String(r.customers ?? '')],
    [t('reason'), r => r.reason || ''],
  ];
  const listed = table(columns, list.items, { id: 'outages-list', class: 'list' });
  el.append(listed, moreButton('outages-more', t('more'), list.next, async after => {
    const page = await get(`/v1/outages${query({ state, limit: 100, after })}`, { signal });
    for (const [c, n] of await namesOf(page.items.flatMap(o => o.elements || []))) names.set(c, n);
    rowsInto(listed, columns, page.items);
    return page.next;
  }, showError));
  if (!list.items.length) el.append(h('p', { class: 'muted' }, t('none')));

  el.append(h('h2', null, t('predicted')));
  if (!predicted.items.length) {
    el.append(h('p', { class: 'muted', id: 'predicted-none' }, t('predicted_none')));
  } else {
    el.append(table([
      [t('elements'), r => codeLink(r.element, r.name || r.element)],
      [t('type'), r => r.type],
      [t('calls'), r => String(r.calls.length)],
      [t('customers'), r => String(r.customers)],
      ['', r => h('a', { href: `#/impact?codes=${r.element}` }, t('impact_of'))],
    ], predicted.items, { id: 'predicted-list', class: 'list' }));
  }
}

async function one(el, code, signal, showError) {
  const [o, first] = await Promise.all([
    get(`/v1/outages/${encodeURIComponent(code)}`, { signal }),
    get(`/v1/outages/${encodeURIComponent(code)}/customers${query({ limit: 100 })}`, { signal }),
  ]);
  el.append(h('h1', { id: 'outage-title' }, code, ' ', h('span', { class: `tag ${o.state}` }, o.state)));
  const shown = v => (Array.isArray(v) ? codes(v)
    : typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) ? when(v)
      : codeLink(v === null ? '—' : String(v)));
  el.append(fieldsTable(Object.entries(o).filter(([k]) => k !== 'code').map(([k, v]) => [k, shown(v)]), { id: 'outage-fields' }));
  const columns = [
    [t('code'), r => codeLink(r.code)],
    [t('name'), r => r.name || ''],
    [t('phone'), r => r.phone || ''],
    [t('by_transformer'), r => codeLink(r.transformer, r.transformer_name || r.transformer)],
    [t('notices'), r => r.notices.map(n => h('span', { class: `tag ${n.state}`, title: n.detail || '' }, `${n.message}: ${n.state}`))],
  ];
  el.append(h('h2', null, t('customers')));
  const list = table(columns, first.items, { id: 'outage-customers', class: 'list' });
  el.append(list);
  el.append(moreButton('outage-more', t('more'), first.next, async after => {
    const page = await get(`/v1/outages/${encodeURIComponent(code)}/customers${query({ limit: 100, after })}`, { signal });
    rowsInto(list, columns, page.items);
    return page.next;
  }, showError));
}
