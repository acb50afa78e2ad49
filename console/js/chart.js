// chart.js -- horizontal bars in SVG: one per item, its label, its value
// written at its end. Enough for counts and rates; no chart library.
import { s } from './dom.js';

const ROW = 26, LABEL_MAX = 36, BAR_W = 360, PAD = 6;

// Of a label as drawn at 12px: a CJK character is about twice a Latin one.
const textWidth = t => [...t].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 12 : 7), 0);

// bars: [{key, label, value, text, onclick?}]; max: the full bar's value.
export function barChart(bars, { max, title } = {}) {
  const top = max ?? Math.max(1, ...bars.map(b => b.value));
  const height = PAD * 2 + Math.max(1, bars.length) * ROW;
  const shown = b => (b.label.length > LABEL_MAX ? `${b.label.slice(0, LABEL_MAX - 1)}…` : b.label);
  const labelW = Math.min(280, Math.max(60, ...bars.map(b => textWidth(shown(b)))) + 16);
  const width = labelW + BAR_W + 120;
  const svg = s('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': title || '' });
  bars.forEach((b, i) => {
    const y = PAD + i * ROW;
    const w = top > 0 ? Math.max(b.value > 0 ? 2 : 0, (b.value / top) * BAR_W) : 0;
    const g = s('g', {
      class: `bar${b.onclick ? ' link' : ''}`, dataset: { key: b.key, value: String(b.value) },
      onclick: b.onclick, tabindex: b.onclick ? '0' : null, role: b.onclick ? 'link' : null,
      onkeydown: b.onclick ? ev => { if (ev.key === 'Enter') b.onclick(); } : null,
    });
    g.append(
      s('text', { x: labelW - 8, y: y + 17, 'text-anchor': 'end', class: 'label' }, shown(b)),
      s('rect', { class: 'track', x: labelW, y: y + 4, width: BAR_W, height: ROW - 8, rx: 3 }),
      s('rect', { class: 'fill', x: labelW, y: y + 4, width: w, height: ROW - 8, rx: 3 }),
      s('text', { x: labelW + BAR_W + 8, y: y + 17, class: 'value' }, b.text ?? String(b.value)),
      s('title', null, `${b.label}: ${b.text ?? b.value}`));
    svg.append(g);
  });
  return svg;
}
