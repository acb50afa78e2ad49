// impact.js -- whom an outage of some elements cuts off (GET
// /v1/outage-impact): counts by category, the customers a page at a time
// (all of them as CSV), and the open switches whose closing would bring
// some back, which dispatch may close from here.
import { h, table, rowsInto, moreButton } from '../dom.js';
import { get, query, codeLink, namesOf, session } from '../api.js';
import { t } from '../i18n.js';
import { barChart } from '../chart.js';
import { operateSwitch, mayOperate } from '../operate.js';

const PAGE = 50;

function impactPath(codes, state, extra) {
  return `/v1/outage-impact${query({ codes, state: state === 'normal' ? 'normal' : undefined, ...extra })}`;
}

const COLUMNS = () => [
  [t('code'), r => codeLink(r.code)],
  [t('name'), r => r.name || ''],
  [t('phone'), r => r.phone || ''],
  [t('address'), r => codeLink(r.address)],
  [t('category'), r => r.category],
];

// A cell that a spreadsheet would take for a formula (=, +, -, @) is kept
// as text with a leading apostrophe.
function csvCell(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Every customer, a page of 1,000 at a time, as one CSV download (with a BOM
// so that spreadsheet programs read the Chinese as UTF-8).
async function exportCsv(codes, state, button) {
  const cols = ['code', 'name', 'phone', 'address', 'category'];
  const lines = [cols.join(',')];
  let after;
  button.disabled = true;
  try {
    for (let pages = 0; pages < 1000; pages++) {
      const page = await get(impactPath(codes, state, { limit: 1000, after, restorable: 'false' }));
      for (const c of page.customers) lines.push(cols.map(k => csvCell(c[k])).join(','));
      if (!page.next) break;
      after = page.next;
    }
  } finally {
    button.disabled = false;
  }
  const blob = new Blob(['\ufeff', lines.join('\r\n'), '\r\n'], { type: 'text/csv;charset=utf-8' });
  const a = h('a', { href: URL.createObjectURL(blob), download: `outage-impact-${codes.split(',')[0]}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

export async function render(el, { params, signal, navigate, showError, showNote }) {
  const codes = (params.get('codes') || '').split(/[\s,，]+/).filter(Boolean).map(c => c.toUpperCase()).join(',');
  const state = params.get('state') === 'normal' ? 'normal' : 'current';
  const input = h('input', { name: 'codes', id: 'impact-codes', value: codes, placeholder: t('impact_hint'), 'aria-label': t('impact_hint'), autocomplete: 'off' });
  const stateSel = h('select', { name: 'state', id: 'impact-state' },
    h('option', { value: 'current', selected: state === 'current' }, t('current')),
    h('option', { value: 'normal', selected: state === 'normal' }, t('normal')));
  el.append(h('h1', null, t('impact_of')), h('form', {
    class: 'bar', id: 'impact-form',
    onsubmit: ev => {
      ev.preventDefault();
      const v = input.value.split(/[\s,，]+/).filter(Boolean).join(',');
      if (v) navigate(`#/impact?codes=${encodeURIComponent(v)}${stateSel.value === 'normal' ? '&state=normal' : ''}`);
    },
  }, input, stateSel, h('button', { type: 'submit' }, t('ask'))));
  if (!codes) return;

  const first = await get(impactPath(codes, state, { limit: PAGE, restorable: 'true' }), { signal });
  const counts = first.counts;
  const names = await namesOf([...codes.split(','), ...(first.restorable || []).map(r => r.switch)]);
  el.append(h('p', { id: 'impact-elements' }, codes.split(',').flatMap((c, i) => [i ? ', ' : '', codeLink(c, names.get(c) || c)]),
    ` · ${t(state)}`));
  el.append(h('div', { class: 'figures' },
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'impact-total', dataset: { count: String(counts.total) } }, String(counts.total)),
      h('span', null, t('customers'))),
    h('div', null, h('h3', null, t('by_category')),
      barChart(Object.entries(counts.by_category).map(([k, n]) => ({ key: k, label: k, value: n })), { title: t('by_category') }))));

  // Restorable switches, with a button to close each for those who may.
  el.append(h('h2', null, t('restorable')));
  if (!first.restorable?.length) {
    el.append(h('p', { class: 'muted', id: 'impact-restorable-none' }, t('restorable_none')));
  } else {
    el.append(table([
      [t('name'), r => codeLink(r.switch, names.get(r.switch) || r.switch)],
      [t('customers'), r => t('would_restore', { n: r.customers })],
      ['', r => (mayOperate(session) ? h('button', {
        type: 'button', class: 'danger', dataset: { switch: r.switch },
        onclick: async () => {
          try {
            const after = await operateSwitch(r.switch, false);
            if (after) {
              navigate(`#/impact?codes=${encodeURIComponent(codes)}${state === 'normal' ? '&state=normal' : ''}`);
              showNote(t('operated', { name: after.name || r.switch, state: after.current_open ? t('open') : t('closed') }));
            }
          } catch (err) { showError(err); }
        },
      }, t('close_switch')) : '')],
    ], first.restorable, { id: 'impact-restorable', class: 'list' }));
  }

  el.append(h('h2', null, t('customers'), ' ',
    h('button', { type: 'button', class: 'quiet', id: 'impact-csv', onclick: ev => exportCsv(codes, state, ev.currentTarget).catch(showError) }, t('export_csv'))));
  const list = table(COLUMNS(), first.customers, { id: 'impact-customers', class: 'list' });
  el.append(list);
  el.append(moreButton('impact-more', t('more'), first.next, async after => {
    const page = await get(impactPath(codes, state, { limit: PAGE, after, restorable: 'false' }), { signal });
    rowsInto(list, COLUMNS(), page.customers);
    return page.next;
  }, showError));
}
