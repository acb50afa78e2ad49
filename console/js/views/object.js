// object.js -- one object: its fields, its supply chain up and down drawn
// as a graph, the links of that chain, its history; for a switch, operating
// it (dispatch).
import { h, table, fieldsTable, when } from '../dom.js';
import { get, query, codeLink, typeOf, objectPath, isPeer, session, problemText, CODE_RE } from '../api.js';
import { t } from '../i18n.js';
import { drawGraph, mergeTraces } from '../graph.js';
import { operateSwitch, mayOperate } from '../operate.js';
import { typeLabel } from './search.js';

function value(v) {
  if (v === null || v === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof v === 'string' && CODE_RE.test(v)) return codeLink(v);
  if (Array.isArray(v) && v.every(x => typeof x === 'string' && CODE_RE.test(x)))
    return v.flatMap((x, i) => (i ? [', ', codeLink(x)] : [codeLink(x)]));
  if (typeof v === 'object') return h('code', null, JSON.stringify(v));
  return String(v);
}

function historyTable(items) {
  return table([
    [t('seq'), r => String(r.seq)],
    [t('at'), r => when(r.at)],
    [t('event'), r => r.type],
    [t('changed_by'), r => r.app],
    [t('reason'), r => r.reason || r.after?.reason || ''],
  ], items, { id: 'object-history', class: 'list' });
}

export async function render(el, { arg, params, signal, navigate, showError, showNote }) {
  const code = String(arg || '').toUpperCase();
  const path = CODE_RE.test(code) ? objectPath(code) : null;
  if (!path) throw new Error(`${t('not_found')}: ${code}`);
  const state = params.get('state') === 'normal' ? 'normal' : 'current';
  const [obj, up, down, hist] = await Promise.all([
    get(path, { signal }),
    get(`/v1/trace/${code}${query({ direction: 'up', state: state === 'normal' ? 'normal' : undefined })}`, { signal }).catch(err => ({ err })),
    get(`/v1/trace/${code}${query({ direction: 'down', state: state === 'normal' ? 'normal' : undefined })}`, { signal }).catch(err => ({ err })),
    get(`${path}/history${query({ limit: 50 })}`, { signal }).catch(() => ({ items: [] })),
  ]);
  const ty = typeOf(code);
  el.append(h('h1', { id: 'object-title' }, obj.name || code, ' ',
    h('small', null, `${typeLabel(ty.type, code)} · ${code}`),
    isPeer(code) ? h('span', { class: 'tag peer', title: t('other_platform') }, `↗ ${ty.platform}`) : h('span', { class: 'tag' }, ty.platform)));

  const actions = h('div', { class: 'actions' },
    h('a', { class: 'button', href: `#/impact?codes=${code}`, id: 'object-impact' }, t('impact_of')),
    h('a', { class: 'button quiet', href: `#/object/${code}${state === 'normal' ? '' : '?state=normal'}` },
      state === 'normal' ? t('current') : t('normal')));
  if (ty.prefix === 'SW' && mayOperate(session)) {
    const wantOpen = !obj.current_open;
    actions.append(h('button', {
      type: 'button', class: 'danger', id: 'object-operate',
      onclick: async () => {
        try {
          const after = await operateSwitch(code, wantOpen);
          if (after) {
            navigate(`#/object/${code}`);
            showNote(t('operated', { name: after.name || code, state: after.current_open ? t('open') : t('closed') }));
          }
        } catch (err) { showError(err); }
      },
    }, wantOpen ? t('open_switch') : t('close_switch')));
  }
  el.append(actions);

  const fields = Object.entries(obj).filter(([k]) => k !== 'code');
  el.append(h('div', { class: 'columns' },
    h('div', null, h('h2', null, t('fields')),
      fieldsTable(fields.map(([k, v]) => [k, value(v)]), { id: 'object-fields' })),
    h('div', { class: 'wide' }, h('h2', null, `${t('chain')} · ${t(state)}`), chainPart(code, up, down, navigate))));
  el.append(h('h2', null, t('history')), historyTable(hist.items));
}

// The drawing in a scrolling box, scrolled so that the object itself is in
// view once the page shows it.
function graphBox(svg, code) {
  const box = h('div', { class: 'graph-box', id: 'object-graph' }, svg);
  requestAnimationFrame(() => {
    const root = svg.querySelector(`g.node[data-code="${code}"]`);
    if (!root) return;
    const m = /translate\(([\d.]+),([\d.]+)\)/.exec(root.getAttribute('transform'));
    if (m) box.scrollLeft = Math.max(0, Number(m[1]) - box.clientWidth / 2 + 84);
  });
  return box;
}

// A trace that failed (the other platform not answering, say) is said, and
// what the other one found is still drawn.
function chainPart(code, up, down, navigate) {
  const failed = [up, down].filter(x => x.err).map(x => h('p', { class: 'error' }, problemText(x.err)));
  const graph = mergeTraces(code, up.err ? null : up, down.err ? null : down);
  if (failed.length && !graph.nodes.length) return failed;
  if (!graph.nodes.length) return h('p', { class: 'muted' }, t('none'));
  const svg = drawGraph(graph, code, { onNode: c => navigate(`#/object/${c}`) });
  const drawn = Number(svg.dataset.nodes), total = graph.nodes.length;
  const names = new Map(graph.nodes.map(n => [n.code, n.name]));
  return [
    ...failed,
    drawn < total ? h('p', { class: 'muted' }, t('graph_capped', { n: drawn, total })) : null,
    graphBox(svg, code),
    h('h3', null, t('links')),
    table([
      [t('kind'), e => e.kind],
      ['↑', e => codeLink(e.from, names.get(e.from) || e.from)],
      ['↓', e => codeLink(e.to, names.get(e.to) || e.to)],
      [t('state'), e => (e.switch ? [codeLink(e.switch, e.open ? t('open') : t('closed'))] : '')],
    ], graph.edges.filter(e => e.from === code || e.to === code), { id: 'object-links', class: 'list' }),
  ];
}
