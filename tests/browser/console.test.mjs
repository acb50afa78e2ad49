// console.test.mjs -- the console (/console/) in a real browser: Debian's
// chromium, headless, driven by puppeteer-core, against the running daemons
// with the demo city loaded (examples/00-demo-city.sh). Each view is loaded
// and checked against what the API answers for the same question; no view
// may log an error to the browser console, fail a request or put the key in
// a URL. A screenshot of each view is written to SCREENS_DIR.
//
//   node tests/browser/console.test.mjs GRID_URL CUST_URL SCREENS_DIR
//
// Prints TAP; exits 0 only when every check passed.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../deps/npm/package.json'));
const puppeteer = require('puppeteer-core');

const [gridUrl, custUrl, screens] = process.argv.slice(2);
if (!gridUrl || !custUrl || !screens) {
  console.error('usage: node tests/browser/console.test.mjs GRID_URL CUST_URL SCREENS_DIR');
  process.exit(2);
}
mkdirSync(screens, { recursive: true });
const KEY = 'dev-dispatch-key';
const STEP_MS = 15000;

// ---- TAP ----
let n = 0, failed = 0;
function ok(cond, what, detail) {
  n++;
  if (cond) console.log(`ok ${n} - ${what}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${what}`);
    if (detail !== undefined) for (const l of String(detail).split('\n')) console.log(`#   ${l}`);
  }
  return cond;
}
function same(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  return ok(g === w, what, `got:  ${g}\nwant: ${w}`);
}

// ---- the API, asked directly, to compare with what the console shows ----
async function api(base, path, { method = 'GET', body, headers = {} } = {}) {
  const res = await fetch(base + path, {
    method, body: body && JSON.stringify(body),
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', ...headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return { data: text ? JSON.parse(text) : null, etag: res.headers.get('etag') };
}
const get = async (base, path) => (await api(base, path)).data;
async function setSwitch(base, code, open) {
  const { data, etag } = await api(base, `/v1/switches/${code}`);
  if (data.current_open === open) return;
  await api(base, `/v1/switches/${code}/operate`, { method: 'POST', body: { open, reason: 'console test: back to the normal arrangement' }, headers: { 'If-Match': etag } });
}

// ---- the browser ----
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // root in CI: chromium's sandbox needs a user namespace it may not get
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--lang=zh-CN'],
  timeout: 30000,
});

async function openConsole(base) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  page.setDefaultTimeout(STEP_MS);
  const problems = [];
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', e => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', r => { if (!/net::ERR_ABORTED/.test(r.failure()?.errorText || '')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('request', r => { if (r.url().includes(KEY)) problems.push(`the key in a URL: ${r.url()}`); });
  const res = await page.goto(`${base}/console/`, { waitUntil: 'networkidle0' });
  return { page, problems, res };
}

// The console marks #main with the hash it shows and a count of views drawn
// (app.js): a view is waited for until drawn after the step that asks it,
// never taken from the page before.
const drawn = page => page.$eval('#main', m => Number(m.dataset.drawn || 0));
async function drawnAfter(page, before, selector) {
  await page.waitForFunction(b => {
    const m = document.querySelector('#main');
    return Number(m.dataset.drawn || 0) > b && m.dataset.hash === location.hash;
  }, {}, before);
  if (selector) await page.waitForSelector(`#main ${selector}`);
}

async function view(page, hash, selector) {
  const before = await drawn(page);
  await page.evaluate(h => { location.hash = h; }, hash);
  await drawnAfter(page, before, selector);
}

async function shot(page, name) {
  await page.screenshot({ path: join(screens, `${name}.png`), fullPage: true });
}

const attrs = (page, sel, attr) => page.$$eval(sel, (els, a) => els.map(e => e.getAttribute(a)), attr);
const banner = page => page.$eval('#banner', b => (b.hidden ? '' : b.textContent));

// Answers the confirmation dialog with a reason.
async function confirmWith(page, reason) {
  await page.waitForSelector('#confirm[open]');
  await page.type('#confirm-reason', reason);
  await page.click('#confirm-ok');
  await page.waitForSelector('#confirm:not([open])');
}

async function grid() {
  const { page, problems, res } = await openConsole(gridUrl);
  const csp = res.headers()['content-security-policy'] || '';
  ok(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp), 'the console is served with a Content-Security-Policy', csp);
  same(res.headers()['x-content-type-options'], 'nosniff', 'and X-Content-Type-Options: nosniff');

  // A wrong key: a clear message, nothing kept.
  await page.waitForSelector('#signin #key');
  await shot(page, 'signin');
  await page.type('#key', 'not-a-key');
  await page.click('#signin button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#signin-message')?.className === 'error');
  const msg = await page.$eval('#signin-message', e => e.textContent);
  ok(/密钥不正确|Wrong key/.test(msg), 'a wrong key is told clearly', msg);
  same(await page.evaluate(() => sessionStorage.getItem('yingpei.key')), null, 'and is not kept');
  await shot(page, 'signin-wrong-key');
  // The refused key's 401 is the one error the browser may log (as every refused fetch is).
  problems.length = 0;

  // The right one: the app and its roles.
  await page.$eval('#key', e => { e.value = ''; });
  let before = await drawn(page);
  await page.type('#key', KEY);
  await page.click('#signin button[type=submit]');
  await drawnAfter(page, before, '#search-form');
  const who = await page.$eval('#who', e => e.textContent);
  ok(/dispatch/.test(who) && /grid-svc/.test(who), 'signed in: the app, its roles and the platform are shown', who);
  same(await page.evaluate(() => sessionStorage.getItem('yingpei.key')), KEY, 'the key is kept in sessionStorage');

  // Search: by a Chinese name part and by account number, as the API finds.
  const hits = await get(gridUrl, '/v1/search?q=' + encodeURIComponent('湖墅') + '&limit=50');
  before = await drawn(page);
  await page.type('#search-q', '湖墅');
  await page.click('#search-form button');
  await drawnAfter(page, before, '#search-results');
  same(await attrs(page, '#search-results tbody tr td:first-child a', 'title'), hits.items.map(i => i.code), 'search 湖墅 lists what /v1/search finds, in its order');
  await shot(page, 'search');
  // A name that is markup stays text.
  const evil = await api(custUrl, '/v1/customers', {
    method: 'POST', headers: { Authorization: 'Bearer dev-marketing-key' },
    body: { name: '<img src=x onerror="window.__xss=1">浏览器测试', category: 'lv_resident' },
  });
  try {
    await view(page, '#/search?q=onerror', '#search-results');
    same(await page.$$eval('#search-results img', x => x.length), 0, 'a name that is markup is not made into elements');
    ok((await page.$eval('#search-results', e => e.textContent)).includes('<img src=x'), 'it is shown as text');
    same(await page.evaluate(() => window.__xss), undefined, 'and runs nothing');
  } finally {
    await api(custUrl, `/v1/customers/${evil.data.code}`, { method: 'DELETE', headers: { Authorization: 'Bearer dev-marketing-key' } });
  }
  const customer = (await get(custUrl, '/v1/customers?account_no=330105000100000001')).items[0];
  await view(page, '#/search?q=330105000100000001', '#search-results');
  same(await attrs(page, '#search-results tbody tr td:first-child a', 'title'), [customer.code], 'search by account number finds its customer');

  // The object page: the graph holds exactly the nodes of the traces up and down.
  await view(page, `#/object/${customer.code}`, '#object-graph svg');
  const up = await get(gridUrl, `/v1/trace/${customer.code}?direction=up`);
  const down = await get(gridUrl, `/v1/trace/${customer.code}?direction=down`);
  const want = [...new Set([...up.nodes, ...down.nodes].map(x => x.code))].sort();
  same((await attrs(page, '#object-graph g.node', 'data-code')).sort(), want, 'the supply chain graph shows the nodes the trace API returns');
  const peerMarked = await attrs(page, '#object-graph g.node.peer', 'data-code');
  const catalogue = await get(gridUrl, '/v1/catalogue');
  const custPrefixes = catalogue.types.filter(x => x.platform === 'cust-svc').map(x => x.prefix);
  same(peerMarked.sort(), want.filter(c => custPrefixes.includes(c.slice(0, 2))).sort(), "the other platform's objects are marked");
  same(await page.$eval('#object-fields', t => t.textContent.includes('330105000100000001')), true, 'the fields are shown');
  ok((await page.$$('#object-history tbody tr')).length >= 1, 'the history is shown');
  await shot(page, 'object');

  // Outage impact of a substation: the counts and the restorable switches the API answers.
  const ss = (await get(gridUrl, '/v1/substations?name=' + encodeURIComponent('110kV 拱墅变'))).items[0];
  const impact = await get(gridUrl, `/v1/outage-impact?codes=${ss.code}&limit=50`);
  await view(page, `#/impact?codes=${ss.code}`, '#impact-total');
  same(Number(await page.$eval('#impact-total', e => e.dataset.count)), impact.counts.total, 'the impact shows the total the API counts');
  same(Object.fromEntries((await page.$$eval('.view-impact svg.chart g.bar', gs => gs.map(g => [g.dataset.key, Number(g.dataset.value)])))),
    impact.counts.by_category, 'and the counts by category');
  same(await attrs(page, '#impact-customers tbody tr td:first-child a', 'title'), impact.customers.map(c => c.code), 'and the first page of customers');
  same(await attrs(page, '#impact-restorable button[data-switch]', 'data-switch'), impact.restorable.map(r => r.switch), 'and the restorable switches');
  same(await page.$eval('#impact-more', b => getComputedStyle(b).display !== 'none'), !!impact.next, '"more" shows only when there is a next page');
  await shot(page, 'impact');

  // Dispatch closes the tie from there; the answer changes as the API's does.
  const tie = impact.restorable[0]?.switch;
  let breaker;
  if (ok(!!tie, 'a restorable switch to close')) try {
    // A cancelled confirmation operates nothing.
    await page.click(`#impact-restorable button[data-switch="${tie}"]`);
    await page.waitForSelector('#confirm[open]');
    await page.type('#confirm-reason', 'not this time');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#confirm:not([open])');
    same((await get(gridUrl, `/v1/switches/${tie}`)).current_open, true, 'a cancelled confirmation operates nothing');

    before = await drawn(page);
    await page.click(`#impact-restorable button[data-switch="${tie}"]`);
    await confirmWith(page, '转供: 浏览器测试');
    await drawnAfter(page, before, '#impact-total');
    await page.waitForFunction(() => document.querySelector('#banner.note'));
    const after = await get(gridUrl, `/v1/outage-impact?codes=${ss.code}&limit=50`);
    ok(after.counts.total < impact.counts.total, 'closing the tie brings customers back', `${impact.counts.total} -> ${after.counts.total}`);
    same(Number(await page.$eval('#impact-total', e => e.dataset.count)), after.counts.total, 'the console shows the new answer');
    same((await get(gridUrl, `/v1/switches/${tie}`)).current_open, false, 'the tie is closed');
    const hist = await get(gridUrl, `/v1/switches/${tie}/history`);
    ok(hist.items.some(h => h.type === 'switch.operated' && JSON.stringify(h).includes('转供: 浏览器测试')), 'with the reason typed in the confirmation');

    // Then opening the breaker from its page: the line as normally drawn shows it open.
    breaker = (await get(gridUrl, `/v1/trace/${customer.code}?direction=up`)).edges.find(e => e.kind === 'substation-line' && e.from === ss.code)?.switch;
    const line = up.nodes.find(x => x.type === 'line').code;
    if (ok(!!breaker, "the substation's breaker on the line")) {
      await view(page, `#/object/${breaker}`, '#object-operate');
      await page.click('#object-operate');
      await confirmWith(page, '转供: 拱墅变侧分闸');
      await page.waitForFunction(() => document.querySelector('#banner.note'));
      same((await get(gridUrl, `/v1/switches/${breaker}`)).current_open, true, 'the breaker is opened from its page');
      await view(page, `#/object/${line}?state=normal`, '#object-graph svg');
      const normal = await get(gridUrl, `/v1/trace/${line}?direction=up&state=normal`);
      const shownOpen = Object.fromEntries(await page.$$eval('#object-graph rect.switch', rs => rs.map(r => [r.dataset.switch, r.dataset.open === 'true'])));
      same(shownOpen[breaker], true, 'the open breaker is drawn open');
      same(Object.fromEntries(normal.edges.filter(e => e.switch).map(e => [e.switch, e.open])),
        Object.fromEntries(Object.entries(shownOpen).filter(([k]) => normal.edges.some(e => e.switch === k))), 'every switch drawn as the trace says');
      await shot(page, 'object-switch-open');
    }
  } finally {
    // The demo city as it was, whatever failed above.
    await setSwitch(gridUrl, tie, true);
    if (breaker) await setSwitch(gridUrl, breaker, false);
  }

  // Outages and predicted outages.
  const outages = await get(gridUrl, '/v1/outages?limit=100');
  await view(page, '#/outages', '#outages-list');
  same(await page.$$eval('#outages-list tbody tr', r => r.length), outages.items.length, 'the outages listed are the API\'s');
  const predicted = await get(gridUrl, '/v1/outages/predicted');
  same(await page.$$eval('#predicted-list tbody tr', r => r.length), predicted.items.length, 'and the predicted outages');
  await shot(page, 'outages');
  if (outages.items[0]) {
    const o = outages.items[0];
    const list = await get(gridUrl, `/v1/outages/${o.code}/customers?limit=100`);
    await view(page, `#/outages/${o.code}`, '#outage-customers');
    same(await attrs(page, '#outage-customers tbody tr td:first-child a', 'title'), list.items.map(c => c.code), 'an outage shows its frozen customer list');
    await shot(page, 'outage');
  }

  // The integration report: the rate, and the bars per substation.
  const rep = await get(gridUrl, '/v1/reports/integration');
  const rates = await get(gridUrl, '/v1/reports/integration/rates?level=substation&limit=1000');
  await view(page, '#/report', '#report-rate');
  same(Number(await page.$eval('#report-rate', e => e.dataset.rate)), rep.rate, 'the report shows the rate the API answers');
  same(await attrs(page, '#report-rates g.bar', 'data-key'), rates.items.map(r => r.code), 'a bar per substation');
  await shot(page, 'report');
  if (rates.items[0]) {
    before = await drawn(page);
    await page.click(`#report-rates g.bar[data-key="${rates.items[0].code}"]`);
    await drawnAfter(page, before, '#report-rate');
    same(await page.evaluate(() => location.hash), `#/report?substation=${rates.items[0].code}`, "a substation's bar opens its report");
    const lines = await get(gridUrl, `/v1/reports/integration/rates?level=line&substation=${rates.items[0].code}&limit=1000`);
    same(await attrs(page, '#report-rates g.bar', 'data-key'), lines.items.map(r => r.code), "a substation's bar opens its lines");
  }

  // Line loss: each area's status for a day of the demo city's readings, then the suspects.
  const lossDay = '2026-11-30';
  const loss = await get(gridUrl, `/v1/reports/line-loss?day=${lossDay}&limit=1000`);
  await view(page, `#/loss?day=${lossDay}`, '#loss-areas');
  same(await attrs(page, '#loss-areas tbody tr td:first-child a', 'title'), loss.items.map(r => r.transformer), 'line loss lists each transformer area');
  same(await attrs(page, '#loss-areas [data-status]', 'data-status'), loss.items.map(r => r.status), "each area shows the status the API answers");
  ok(loss.items.some(r => r.status === 'negative'), "the demo city's mislink shows as a negative loss");
  const suspects = await get(gridUrl, `/v1/reports/suspect-links?from=2026-11-01&to=${lossDay}&limit=100`);
  await page.click('#loss-suspects-ask');
  await page.waitForSelector('#loss-suspects', { timeout: STEP_MS });
  same(await attrs(page, '#loss-suspects tbody tr td:first-child a', 'title'), suspects.items.map(s => s.customer), 'the suspect links are listed as the API answers them');
  await shot(page, 'line-loss');

  // The event stream, live: an operation shows up.
  await view(page, '#/events', '#events-list');
  await page.waitForFunction(() => document.querySelector('#events-status')?.classList.contains('live'));
  if (tie) {
    await setSwitch(gridUrl, tie, false);
    await setSwitch(gridUrl, tie, true);
    await page.waitForSelector('#events-list tr[data-type="switch.operated"]', { timeout: STEP_MS }).catch(() => {});
    ok((await page.$$('#events-list tr[data-type="switch.operated"]')).length >= 2, 'the event feed shows operations as they happen');
  }
  await shot(page, 'events');

  // English labels.
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('#nav a')?.textContent === 'Search');
  ok(true, 'the labels switch to English');
  await view(page, '#/impact', '#impact-form');
  await shot(page, 'impact-en');

  same(problems, [], 'grid-svc console: no errors in the browser console, no failed requests, no key in a URL');
  await page.close();
}

// cust-svc serves the same console: every view loads there too.
async function cust() {
  const { page, problems } = await openConsole(custUrl);
  await page.waitForSelector('#signin #key');
  await page.type('#key', KEY);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#search-form');
  const cu = (await get(custUrl, '/v1/customers?limit=1')).items[0];
  for (const [hash, sel] of [[`#/object/${cu.code}`, '#object-graph svg'], ['#/impact', '#impact-form'],
    ['#/outages', '#outages-list'], ['#/report', '#report-rate'], ['#/loss', '#loss-areas'], ['#/events', '#events-list']]) {
    await view(page, hash, sel);
    ok(true, `cust-svc console: ${hash} loads`);
  }
  same(problems, [], 'cust-svc console: no errors in the browser console, no failed requests');
  await page.close();
}

try {
  await grid();
  await cust();
} catch (err) {
  ok(false, 'the browser checks ran to their end', err.stack || String(err));
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
