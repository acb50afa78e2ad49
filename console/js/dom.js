// dom.js -- building the page from data without HTML strings: every text
// goes through textContent, so nothing an API answers is ever markup.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A table from rows: columns are [label, row => cell content].
export function table(columns, rows, attrs) {
  return h('table', attrs,
    h('thead', null, h('tr', null, columns.map(([label]) => h('th', null, label)))),
    h('tbody', null, rows.map(r => h('tr', null, columns.map(([, cell]) => h('td', null, cell(r)))))));
}

// Name–value rows with no heading: [[name, content], ...].
export function fieldsTable(pairs, attrs) {
  return h('table', { class: 'fields', ...attrs },
    h('tbody', null, pairs.map(([k, v]) => h('tr', null, h('td', null, k), h('td', null, v)))));
}

export function rowsInto(tableEl, columns, rows) {
  const body = tableEl.tBodies[0];
  for (const r of rows) body.append(h('tr', null, columns.map(([, cell]) => h('td', null, cell(r)))));
}

// A "more" button for a paged list: load(next) appends the page after next
// and answers the page's own next. One page at a time; a failure is shown.
export function moreButton(id, label, next, load, showError) {
  const button = h('button', {
    type: 'button', class: 'quiet more', id, hidden: !next,
    onclick: async () => {
      button.disabled = true;
      try {
        next = await load(next);
        button.hidden = !next;
      } catch (err) {
        showError(err);
      } finally {
        button.disabled = false;
      }
    },
  }, label);
  return button;
}

// 2026-12-07T16:13:51.01461Z -> 2026-12-07 16:13:51 in the browser's zone.
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function percent(x) {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(2)}%`;
}
