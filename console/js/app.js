// app.js -- the console's shell: sign-in, the navigation, and the views,
// one per hash route (#/search, #/object/CODE, #/impact, #/outages,
// #/outages/CODE, #/report, #/loss, #/events). The hash never holds the key.
import { h, clear } from './dom.js';
import { call, get, session, problemText, ApiError } from './api.js';
import { t, setLang, currentLang, translatePage } from './i18n.js';
import * as search from './views/search.js';
import * as object from './views/object.js';
import * as impact from './views/impact.js';
import * as outages from './views/outages.js';
import * as report from './views/report.js';
import * as events from './views/events.js';
import * as loss from './views/loss.js';

const VIEWS = { search, object, impact, outages, report, loss, events };
const NAV = [['search', 'nav_search'], ['impact', 'nav_impact'], ['outages', 'nav_outages'],
  ['report', 'nav_report'], ['loss', 'nav_loss'], ['events', 'nav_events']];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let current = { abort: null, generation: 0 };

export function showError(err) {
  banner.textContent = `${t('error')}: ${problemText(err)}`;
  banner.hidden = false;
}

export function showNote(text) {
  banner.textContent = text;
  banner.className = 'banner note';
  banner.hidden = false;
}

function clearBanner() {
  banner.hidden = true;
  banner.className = 'banner';
  banner.textContent = '';
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'search', arg: parts[1] || null, params: new URLSearchParams(qs || '') };
}

async function route() {
  if (!session.me) return;
  current.abort?.abort();
  const abort = new AbortController();
  const generation = ++current.generation;
  current = { abort, generation };
  clearBanner();
  clear(main).append(h('p', { class: 'muted' }, t('loading')));
  try {
    const { view, arg, params } = parseHash();
    const v = VIEWS[view] || search;
    for (const a of document.querySelectorAll('#nav a'))
      a.classList.toggle('on', a.dataset.view === (VIEWS[view] ? view : 'search') || (view === 'object' && a.dataset.view === 'search'));
    const el = h('section', { class: `view view-${view}`, dataset: { view } });
    await v.render(el, { arg, params, signal: abort.signal, showError, showNote, navigate });
    if (generation !== current.generation || abort.signal.aborted) return;
    clear(main).append(el);
    // What is shown, and how many times a view was drawn: for whoever waits on it.
    main.dataset.hash = location.hash;
    main.dataset.drawn = String(generation);
  } catch (err) {
    if (abort.signal.aborted || generation !== current.generation) return;
    clear(main);
    showError(err);
  }
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function signinForm(message) {
  const input = h('input', { type: 'password', id: 'key', name: 'key', autocomplete: 'off', required: true, placeholder: t('key_hint') });
  const note = h('p', { class: message ? 'error' : 'muted', id: 'signin-message' }, message || t('key_hint'));
  const form = h('form', {
    class: 'signin', id: 'signin',
    onsubmit: async ev => {
      ev.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      try {
        await signIn(key);
      } catch (err) {
        note.className = 'error';
        note.textContent = err instanceof ApiError && err.status === 401 ? t('key_refused') : problemText(err);
        input.select();
      }
    },
  }, h('h1', null, t('title')), h('label', null, h('span', null, t('key')), input), note,
  h('button', { type: 'submit' }, t('signin')));
  clear(main).append(form);
  input.focus();
}

// The key is kept only once the platform has accepted it.
async function signIn(key) {
  const me = (await call('/v1/me', { key })).data;
  const catalogue = (await call('/v1/catalogue', { key })).data;
  session.set(key);
  session.me = me;
  session.catalogue = catalogue;
  shell();
  route();
}

function signOut(message) {
  session.forget();
  session.me = session.catalogue = null;
  current.abort?.abort();
  // A view still on its way must not be drawn over the sign-in form.
  current = { abort: null, generation: current.generation + 1 };
  shell();
  signinForm(message);
}

function shell() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const out = document.getElementById('signout');
  const signedIn = !!session.me;
  nav.hidden = who.hidden = out.hidden = !signedIn;
  clear(nav);
  if (signedIn) {
    for (const [view, word] of NAV) nav.append(h('a', { href: `#/${view}`, dataset: { view } }, t(word)));
    clear(who).append(h('b', null, session.me.app), ` · ${t('roles')}: ${session.me.roles.join(', ') || '—'} · ${session.me.platform}`);
  }
  document.getElementById('lang').textContent = currentLang() === 'en' ? '中文' : 'EN';
  document.title = t('title');
  translatePage();
}

async function start() {
  setLang(currentLang());
  document.getElementById('lang').addEventListener('click', () => {
    setLang(currentLang() === 'en' ? 'zh' : 'en');
    shell();
    if (session.me) route(); else signinForm();
  });
  document.getElementById('signout').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', route);
  window.addEventListener('yingpei:unauthorized', () => { if (session.me) signOut(t('key_refused')); });
  shell();
  const key = session.key();
  if (!key) return signinForm();
  try {
    await signIn(key);
  } catch (err) {
    const refused = err instanceof ApiError && err.status === 401;
    if (refused) session.forget(); // otherwise the platform was not there: the key may be good
    signinForm(refused ? t('key_refused') : problemText(err));
  }
}

start();
