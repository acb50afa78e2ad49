// loss.js -- line loss 线损 per transformer area 台区 (GET /v1/reports/line-loss)
// for a day, in the city or one substation or line, as bars of each area's
// loss rate and a table with its status; and, on asking, the customers
// whose recorded area the month's readings say is wrong
// (GET /v1/reports/suspect-links), each linked to its objects.
import { h, table, moreButton, percent } from '../dom.js';
import { get, query, codeLink, namesOf } from '../api.js';
import { t } from '../i18n.js';
import { barChart } from '../chart.js';

const SCOPES = ['substation', 'line'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function dayBefore(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

export async function render(el, { params, signal, navigate, showError }) {
  const yesterday = dayBefore(new Date().toISOString().slice(0, 10), 1);
  const day = DAY.test(params.get('day') || '') ? params.get('day') : yesterday;
  const scopeLevel = SCOPES.find(l => params.get(l));
  const scope = scopeLevel ? { [scopeLevel]: params.get(scopeLevel).toUpperCase() } : {};
  const rep = await get(`/v1/reports/line-loss${query({ day, ...scope, limit: 1000 })}`, { signal });
  const names = await namesOf([...rep.items.map(r => r.transformer), ...Object.values(scope)]);
  const here = extra => `#/loss${query({ day, ...scope, ...extra })}`;

  const scopeCode = scopeLevel ? scope[scopeLevel] : null;
  el.append(h('h1', null, t('loss'), ' · ',
    scopeCode ? [codeLink(scopeCode, names.get(scopeCode) || scopeCode), ' ', h('a', { href: `#/loss${query({ day })}`, class: 'quiet' }, `(${t('city')})`)] : t('city')));
  const picker = h('input', { type: 'date', id: 'loss-day', value: day });
  picker.addEventListener('change', () => { if (DAY.test(picker.value)) navigate(here({ day: picker.value })); });
  el.append(h('p', null, h('label', null, t('day'), ' ', picker)));

  const tot = rep.totals;
  el.append(h('div', { class: 'figures' },
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'loss-rate' }, tot.loss_rate == null ? '—' : percent(tot.loss_rate)), h('span', null, t('loss_rate'))),
    h('div', { class: 'figure' }, h('span', { class: 'big' }, String(tot.input_kwh)), h('span', null, t('input_kwh'))),
    h('div', { class: 'figure' }, h('span', { class: 'big' }, String(tot.billed_kwh)), h('span', null, t('billed_kwh'))),
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'loss-counted' }, `${tot.counted}/${tot.areas}`), h('span', null, t('areas_counted')))));

  const measured = rep.items.filter(r => r.loss_rate != null);
  if (measured.length) el.append(h('div', { class: 'chart-box', id: 'loss-bars' }, barChart(measured.map(r => ({
    key: r.transformer,
    label: names.get(r.transformer) || r.transformer,
    value: Math.max(r.loss_rate, 0),
    text: `${percent(r.loss_rate)} · ${t(`status_${r.status}`)}`,
    onclick: () => navigate(`#/object/${r.transformer}`),
  })), { max: Math.max(0.12, ...measured.map(r => r.loss_rate)), title: t('loss_rate') })));
  el.append(table([
    [t('transformer_area'), r => codeLink(r.transformer, names.get(r.transformer) || r.transformer)],
    [t('input_kwh'), r => r.input_kwh == null ? '—' : String(r.input_kwh)],
    [t('billed_kwh'), r => String(r.billed_kwh)],
    [t('loss_kwh'), r => r.loss_kwh == null ? '—' : String(r.loss_kwh)],
    [t('loss_rate'), r => r.loss_rate == null ? '—' : percent(r.loss_rate)],
    [t('status'), r => h('span', { class: `status-${r.status}`, dataset: { status: r.status } }, t(`status_${r.status}`))],
  ], rep.items, { id: 'loss-areas', class: 'list' }));

  // The suspects read thirty days of every meter: asked only when wanted.
  el.append(h('h2', null, t('suspects')));
  const box = h('div', { id: 'loss-suspects-box' });
  const from = dayBefore(day, 29);
  el.append(box);
  box.append(moreButton('loss-suspects-ask', t('suspects_ask', { from, to: day }), 'start', async () => {
    const q = { from, to: day, limit: 100, ...(scope.substation ? { substation: scope.substation } : {}) };
    const sus = await get(`/v1/reports/suspect-links${query(q)}`, { signal });
    const more = await namesOf(sus.items.flatMap(s => [s.linked_transformer, s.fits_transformer]));
    box.append(sus.items.length ? table([
      [t('customer'), s => codeLink(s.customer)],
      [t('linked_transformer'), s => codeLink(s.linked_transformer, more.get(s.linked_transformer))],
      [t('fits_transformer'), s => codeLink(s.fits_transformer, more.get(s.fits_transformer))],
      [t('score'), s => String(s.score)],
    ], sus.items, { id: 'loss-suspects', class: 'list' }) : h('p', { class: 'muted', id: 'loss-suspects' }, t('none')));
    return null;
  }, showError));
}
