// report.js -- the integration report 营配贯通率 (GET /v1/reports/integration
// and .../rates): the share of customers whose chain is whole, for the city
// or one substation, line or transformer area, as bars per object one level
// down (a bar opens that object's report), and the broken links, each
// linked to its objects.
import { h, table, rowsInto, moreButton, when, percent } from '../dom.js';
import { get, query, codeLink, namesOf } from '../api.js';
import { t } from '../i18n.js';
import { barChart } from '../chart.js';

const LEVELS = ['substation', 'line', 'transformer'];
const WORD = { substation: 'by_substation', line: 'by_line', transformer: 'by_transformer' };

export async function render(el, { params, signal, navigate, showError }) {
  const scopeLevel = LEVELS.find(l => params.get(l));
  const scope = scopeLevel ? { [scopeLevel]: params.get(scopeLevel).toUpperCase() } : {};
  const below = scopeLevel ? LEVELS[LEVELS.indexOf(scopeLevel) + 1] : 'substation';
  const [rep, rates] = await Promise.all([
    get(`/v1/reports/integration${query({ ...scope, limit: 100 })}`, { signal }),
    below ? get(`/v1/reports/integration/rates${query({ level: below, ...scope, limit: 1000 })}`, { signal }) : null,
  ]);
  const scopeCode = scopeLevel ? scope[scopeLevel] : null;
  const names = await namesOf([...(rates ? rates.items.map(r => r.code) : []), ...(scopeCode ? [scopeCode] : [])]);

  el.append(h('h1', null, t('rate'), ' · ',
    scopeCode ? [codeLink(scopeCode, names.get(scopeCode) || scopeCode), ' ', h('a', { href: '#/report', class: 'quiet' }, `(${t('city')})`)] : t('city')));
  el.append(h('div', { class: 'figures' },
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'report-rate', dataset: { rate: String(rep.rate) } }, percent(rep.rate)), h('span', null, t('rate'))),
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'report-active' }, String(rep.customers.active)), h('span', null, t('active'))),
    h('div', { class: 'figure' }, h('span', { class: 'big' }, String(rep.customers.complete)), h('span', null, t('complete'))),
    h('div', { class: 'figure' }, h('span', { class: 'big', id: 'report-incomplete' }, String(rep.customers.incomplete)), h('span', null, t('incomplete')))));
  if (rep.freshness?.as_of) el.append(h('p', { class: 'muted' }, `${t('as_of')} ${when(rep.freshness.as_of)}`));

  if (rates) {
    el.append(h('h2', null, t(WORD[below])));
    if (!rates.items.length) el.append(h('p', { class: 'muted' }, t('none')));
    else el.append(h('div', { class: 'chart-box', id: 'report-rates' }, barChart(rates.items.map(r => ({
      key: r.code,
      label: names.get(r.code) || r.code,
      value: r.rate ?? 0,
      text: `${percent(r.rate)} (${r.complete}/${r.customers})`,
      onclick: () => navigate(`#/report?${below}=${r.code}`),
    })), { max: 1, title: t(WORD[below]) })));
  }

  el.append(h('h2', null, t('broken_links'), ` · ${rep.broken_links.total}`));
  const kinds = Object.entries(rep.broken_links.by_kind);
  el.append(h('div', { class: 'chart-box', id: 'report-kinds' },
    barChart(kinds.map(([k, n]) => ({ key: k, label: k, value: n })), { title: t('broken_links') })));
  const columns = [
    [t('kind'), r => r.kind],
    [t('code'), r => codeLink(r.code)],
    [t('other'), r => codeLink(r.other)],
  ];
  const list = table(columns, rep.items, { id: 'report-broken', class: 'list' });
  el.append(list);
  el.append(moreButton('report-more', t('more'), rep.next, async after => {
    const page = await get(`/v1/reports/integration${query({ ...scope, limit: 100, after })}`, { signal });
    rowsInto(list, columns, page.items);
    return page.next;
  }, showError));
}
