// chart.js -- horizontal bars in SVG: one per item, its label, its value
// written at its end. Enough for counts and rates; no chart library.
import { s } from './dom.js';

const ROW = 26, LABEL_W = 280, BAR_W = 360, PAD = 6;

// bars: [{key, label, value, text, onclick?}]; max: the full bar's value.
export function barChart(bars, { max, title } = {}) {
  const top = max ?? Math.max(1, ...bars.map(b => b.value));
  const height = PAD * 2 + Math.max(1, bars.length) * ROW;
  const width = LABEL_W + BAR_W + 120;
  const svg = s('svg', { class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title || '' });
  bars.forEach((b, i) => {
    const y = PAD + i * ROW;
    const w = top > 0 ? Math.max(b.value > 0 ? 2 : 0, (b.value / top) * BAR_W) : 0;
    const g = s('g', { class: `bar${b.onclick ? ' link' : ''}`, dataset: { key: b.key, value: String(b.value) }, onclick: b.onclick });
    g.append(
      s('text', { x: LABEL_W - 8, y: y + 17, 'text-anchor': 'end', class: 'label' }, b.label.length > 36 ? `${b.label.slice(0, 35)}…` : b.label),
      s('rect', { class: 'track', x: LABEL_W, y: y + 4, width: BAR_W, height: ROW - 8, rx: 3 }),
      s('rect', { class: 'fill', x: LABEL_W, y: y + 4, width: w, height: ROW - 8, rx: 3 }),
      s('text', { x: LABEL_W + BAR_W + 8, y: y + 17, class: 'value' }, b.text ?? String(b.value)),
      s('title', null, `${b.label}: ${b.text ?? b.value}`));
    svg.append(g);
  });
  return svg;
}
