// graph.js -- a supply chain (GET /v1/trace answers: nodes, edges from the
// upstream end to the downstream one) drawn as layers: the asked object in
// the middle, what feeds it above, what it feeds below. Chains are trees but
// for ties and multiply-fed lines, so a layered drawing with each layer
// ordered by its neighbours' places reads well without a layout library.
import { s } from './dom.js';
import { isPeer, typeByName, session } from './api.js';
import { t, currentLang } from './i18n.js';

const W = 168, H = 46, GAP_X = 18, GAP_Y = 54, PAD = 16;

// A trace's edges name each link as its relation does (from, to), which is
// not always upstream first (a meter is the "from" of meter-meterbox), so
// the drawing places nodes by their distance from the root along the trace:
// upwards in the trace up, downwards in the trace down.
function distances(root, trace) {
  const adj = new Map();
  const link = (a, b) => (adj.get(a) || adj.set(a, []).get(a)).push(b);
  for (const e of trace.edges) { link(e.from, e.to); link(e.to, e.from); }
  const dist = new Map([[root, 0]]);
  const queue = [root];
  while (queue.length) {
    const at = queue.shift();
    for (const next of adj.get(at) || []) {
      if (dist.has(next)) continue;
      dist.set(next, dist.get(at) + 1);
      queue.push(next);
    }
  }
  return dist;
}

// The up and down traces of root as one graph: nodes by code with their
// layer (negative above the root), edges by (from, to, kind).
export function mergeTraces(root, up, down) {
  const nodes = new Map(), edges = new Map(), layer = new Map([[root, 0]]);
  for (const [trace, sign] of [[up, -1], [down, 1]]) {
    if (!trace) continue;
    for (const n of trace.nodes) if (!nodes.has(n.code)) nodes.set(n.code, n);
    for (const e of trace.edges) edges.set(`${e.from}|${e.to}|${e.kind}`, e);
    for (const [code, d] of distances(root, trace)) if (!layer.has(code)) layer.set(code, sign * d);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], layer };
}

// The nodes drawn: the nearest to the root first, at most cap.
function nearest(layerOf, cap) {
  const codes = [...layerOf.keys()].sort((a, b) => Math.abs(layerOf.get(a)) - Math.abs(layerOf.get(b)));
  return new Map(codes.slice(0, cap).map(c => [c, layerOf.get(c)]));
}

function label(n) {
  const ty = typeByName(n.type);
  const typeName = ty ? (currentLang() === 'en' ? n.type.replace(/_/g, ' ') : ty.zh) : n.type;
  return { title: n.name || typeName, sub: `${typeName} · ${n.code.slice(0, 9)}…` };
}

function clip(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// The drawing: an <svg> with a <g class="node" data-code> per node drawn and a
// line per edge, switches on their edges (data-switch, data-open).
export function drawGraph(graph, root, { cap = 240, onNode } = {}) {
  const layer = nearest(graph.layer, cap);
  const byLayer = new Map();
  for (const [code, l] of layer) {
    if (!byLayer.has(l)) byLayer.set(l, []);
    byLayer.get(l).push(code);
  }
  const order = [...byLayer.keys()].sort((a, b) => a - b);
  // Order each layer by the mean place of its neighbours in the layer
  // nearer the root, going outwards both ways.
  const place = new Map([[root, 0]]);
  const neighbours = new Map();
  for (const e of graph.edges) {
    if (!layer.has(e.from) || !layer.has(e.to)) continue;
    (neighbours.get(e.from) || neighbours.set(e.from, []).get(e.from)).push(e.to);
    (neighbours.get(e.to) || neighbours.set(e.to, []).get(e.to)).push(e.from);
  }
  const sortLayer = (l, towards) => {
    const codes = byLayer.get(l);
    const key = c => {
      const ps = (neighbours.get(c) || []).filter(n => layer.get(n) === towards && place.has(n)).map(n => place.get(n));
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : Infinity;
    };
    codes.sort((a, b) => key(a) - key(b) || a.localeCompare(b));
    codes.forEach((c, i) => place.set(c, i));
  };
  for (let l = 1; byLayer.has(l); l++) sortLayer(l, l - 1);
  for (let l = -1; byLayer.has(l); l--) sortLayer(l, l + 1);

  const widest = Math.max(...[...byLayer.values()].map(c => c.length));
  const width = PAD * 2 + widest * W + (widest - 1) * GAP_X;
  const height = PAD * 2 + order.length * H + (order.length - 1) * GAP_Y;
  const pos = new Map();
  order.forEach((l, row) => {
    const codes = byLayer.get(l);
    const rowWidth = codes.length * W + (codes.length - 1) * GAP_X;
    const x0 = (width - rowWidth) / 2;
    codes.forEach((c, i) => pos.set(c, { x: x0 + i * (W + GAP_X), y: PAD + row * (H + GAP_Y) }));
  });

  const svg = s('svg', {
    class: 'graph', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group',
    'aria-label': t('chain'), dataset: { nodes: String(pos.size), total: String(graph.nodes.length) },
  });
  const edgeLayer = s('g', { class: 'edges' });
  const nodeLayer = s('g', { class: 'nodes' });
  svg.append(edgeLayer, nodeLayer);
  for (const e of graph.edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    // Upstream end to downstream end; a tie (same layer) side to side.
    const same = a.y === b.y;
    const left = a.x < b.x;
    const x1 = same ? (left ? a.x + W : a.x) : a.x + W / 2, y1 = same ? a.y + H / 2 : (a.y < b.y ? a.y + H : a.y);
    const x2 = same ? (left ? b.x : b.x + W) : b.x + W / 2, y2 = same ? b.y + H / 2 : (a.y < b.y ? b.y : b.y + H);
    const open = e.switch && e.open === true;
    const g = s('g', { class: `edge${open ? ' open' : ''}`, dataset: { kind: e.kind } });
    g.append(s('line', { x1, y1, x2, y2 }), s('title', null, e.kind));
    if (e.switch) {
      const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
      g.append(s('rect', {
        class: `switch${open ? ' open' : ''}`, x: mx - 6, y: my - 6, width: 12, height: 12,
        dataset: { switch: e.switch, open: String(open) }, tabindex: '0', role: 'link',
        onclick: () => onNode && onNode(e.switch),
        onkeydown: ev => { if (ev.key === 'Enter' && onNode) onNode(e.switch); },
      }, s('title', null, `${e.switch} ${open ? t('open') : t('closed')}`)));
      g.append(s('text', { class: 'switch-label', x: mx + 10, y: my + 4 }, open ? t('open') : t('closed')));
    }
    edgeLayer.append(g);
  }
  const nodeByCode = new Map(graph.nodes.map(n => [n.code, n]));
  for (const [code, p] of pos) {
    const n = nodeByCode.get(code) || { code, type: '' };
    const peer = isPeer(code);
    const { title, sub } = label(n);
    const g = s('g', {
      class: `node${peer ? ' peer' : ''}${code === root ? ' root' : ''}${n.status === 'retired' ? ' retired' : ''}`,
      transform: `translate(${p.x},${p.y})`, tabindex: '0', role: 'link',
      dataset: { code, platform: peer ? session.catalogue.peer : session.catalogue.platform },
      onclick: () => onNode && onNode(code),
      onkeydown: ev => { if (ev.key === 'Enter' && onNode) onNode(code); },
    });
    g.append(s('rect', { width: W, height: H, rx: 6 }),
      s('text', { x: 8, y: 18, class: 'title' }, clip(title, 14)),
      s('text', { x: 8, y: 36, class: 'sub' }, sub),
      s('title', null, `${n.name || ''} ${code}${peer ? ` — ${t('other_platform')} (${session.catalogue.peer})` : ''}`));
    if (peer) g.append(s('text', { x: W - 8, y: 14, class: 'badge', 'text-anchor': 'end' }, '↗'));
    nodeLayer.append(g);
  }
  return svg;
}
