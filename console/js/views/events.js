// events.js -- the event stream live (GET /v1/events/stream, server-sent
// events). A browser EventSource cannot send the Authorization header, so
// the stream is read with fetch() and its body parsed frame by frame; it
// resumes with Last-Event-ID when the server ends it.
import { h, clear, when } from '../dom.js';
import { session, query, codeLink } from '../api.js';
import { t } from '../i18n.js';

const KEEP = 200; // rows shown

// Frames ("id: …\nevent: …\ndata: …\n\n") out of text whose line ends are
// \n; returns what is left. onFrame gets each frame with data, onId every id
// given (an empty one too: it resets where to resume), as the SSE spec says.
export function takeFrames(text, onFrame, onId = () => {}) {
  let at;
  while ((at = text.indexOf('\n\n')) >= 0) {
    const frame = { id: null, event: 'message', data: [] };
    for (const line of text.slice(0, at).split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id' && !value.includes('\0')) {
        frame.id = value;
        onId(value);
      }
      else if (field === 'event') frame.event = value;
      else if (field === 'data') frame.data.push(value);
    }
    if (frame.data.length) onFrame(frame);
    text = text.slice(at + 2);
  }
  return text;
}

async function follow(types, signal, lastId, onFrame, onState) {
  while (!signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream', Authorization: `Bearer ${session.key()}` };
      if (lastId.value) headers['Last-Event-ID'] = lastId.value;
      const res = await fetch(`/v1/events/stream${query({ types })}`, { headers, signal, cache: 'no-store', credentials: 'omit' });
      if (!res.ok) {
        const p = await res.json().catch(() => ({}));
        onState(false, `${res.status} ${p.detail || p.title || ''}`);
        if (res.status === 401) window.dispatchEvent(new CustomEvent('yingpei:unauthorized'));
        if (res.status === 401 || res.status === 400) return;
      } else {
        onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let rest = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          // A \r at the end may be half of a \r\n: it waits for the next chunk.
          let text = rest + value;
          const held = text.endsWith('\r') ? '\r' : '';
          if (held) text = text.slice(0, -1);
          rest = takeFrames(text.replace(/\r\n?/g, '\n'), onFrame, id => { lastId.value = id; }) + held;
        }
        onState(false);
      }
    } catch (err) {
      if (signal.aborted) return;
      onState(false, String(err.message || err));
    }
    await new Promise(r => setTimeout(r, 3000));
  }
}

export async function render(el, { params, signal, navigate }) {
  const types = (params.get('types') || '').trim();
  const input = h('input', { id: 'events-types', value: types, placeholder: t('events_hint'), 'aria-label': t('events_hint'), autocomplete: 'off' });
  const status = h('span', { class: 'tag', id: 'events-status' }, t('disconnected'));
  el.append(h('h1', null, t('nav_events'), ' ', status), h('form', {
    class: 'bar',
    onsubmit: ev => {
      ev.preventDefault();
      const v = input.value.split(/[\s,]+/).filter(Boolean).join(',');
      navigate(`#/events${v ? `?types=${encodeURIComponent(v)}` : ''}`);
    },
  }, input, h('button', { type: 'submit' }, t('follow'))));
  const body = h('tbody');
  el.append(h('table', { class: 'list', id: 'events-list' },
    h('thead', null, h('tr', null, [t('seq'), t('at'), t('event'), t('code'), t('app')].map(x => h('th', null, x)))), body));

  const onFrame = f => {
    let e;
    try { e = JSON.parse(f.data.join('\n')); } catch { return; }
    body.prepend(h('tr', { dataset: { type: e.type, seq: String(e.seq) } },
      h('td', null, String(e.seq)), h('td', null, when(e.at)), h('td', null, e.type),
      h('td', null, codeLink(e.code)), h('td', null, e.app || '')));
    while (body.rows.length > KEEP) body.lastElementChild.remove();
  };
  const onState = (up, why) => {
    status.className = `tag ${up ? 'live' : 'down'}`;
    clear(status).append(up ? t('connected') : t('disconnected'), why ? ` (${why})` : '');
  };
  follow(types, signal, { value: null }, onFrame, onState);
}
