// Headless check of the built UI against the in-browser fake backend (`--mode mock`):
// 10,000 appointments, DOM row counts while scrolling, filters, the dialog's errors, add /
// edit / cancel / delete, the week view, the Connect panel, and 1024x700. Serves the
// bundle with a strict CSP (script-src 'self', no inline styles) and fails on any console
// error or CSP violation. Also checks the production bundle carries no trace of the fake.
//
//   npm run smoke            (needs Chromium: apt-get install -y chromium)
//   CHROMIUM=/path/to/chrome SCREENSHOTS=dir npm run smoke
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.resolve(here, '..', 'dist-mock');
const prod = path.resolve(here, '..', 'dist');
const out = path.resolve(process.env.SCREENSHOTS ?? path.join(here, '..', 'screenshots'));
fs.mkdirSync(out, { recursive: true });

const failures = [];
function expect(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// The production bundle must not contain the fake backend.
for (const f of fs.readdirSync(path.join(prod, 'assets'))) {
  const text = fs.readFileSync(path.join(prod, 'assets', f), 'utf8');
  expect(!text.includes('Weekly pipeline review') && !f.startsWith('fake'), `production asset ${f} has no mock code`);
}

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'";
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://localhost');
  const p = path.join(root, u.pathname === '/' ? 'index.html' : path.normalize(decodeURIComponent(u.pathname)));
  if (!p.startsWith(root) || !fs.existsSync(p)) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': types[path.extname(p)] ?? 'application/octet-stream', 'content-security-policy': CSP });
  fs.createReadStream(p).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
const page = await ctx.newPage();
const problems = [];
page.on('console', (m) => {
  if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
});
page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
page.on('response', (r) => {
  if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
});

const ROW = '[data-testid=appointment-row]';
const domRows = () => page.locator('[data-testid=appointment-list] [role=listitem]').count();
const countText = () => page.textContent('[data-testid=result-count]');
const settle = (ms = 400) => page.waitForTimeout(ms);

try {
  await page.goto(`${base}?rows=10000`);
  await page.waitForSelector(ROW);
  await settle();
  console.log('list:', await countText());
  const top = await domRows();
  expect(top > 0 && top <= 40, `DOM rows at the top of 10,000: ${top}`);
  await page.screenshot({ path: `${out}/list.png` });

  const scroll = await page.evaluate(async () => {
    const vp = document.querySelector('[data-testid=appointment-list]');
    if (!vp) return null;
    let maxRows = 0;
    const frames = [];
    let last = performance.now();
    for (let i = 0; i < 300; i++) {
      vp.scrollTop += 80;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
      maxRows = Math.max(maxRows, vp.querySelectorAll('[role=listitem]').length);
    }
    frames.sort((a, b) => a - b);
    return { maxRows, p50: Math.round(frames[150] * 10) / 10, p95: Math.round(frames[285] * 10) / 10 };
  });
  console.log('scrolling 80px per frame:', JSON.stringify(scroll));
  expect(scroll !== null && scroll.maxRows <= 40, `DOM rows while scrolling stay <= 40 (max ${scroll?.maxRows})`);

  await page.selectOption('[data-testid=filter-period]', 'all');
  await settle();
  expect((await countText())?.startsWith('10,001'), `period all shows 10,001 (${await countText()})`);
  await page.evaluate(() => {
    const vp = document.querySelector('[data-testid=appointment-list]');
    if (vp) vp.scrollTop = vp.scrollHeight / 2;
  });
  await settle(600);
  const middle = await page.locator(ROW).count();
  expect(middle > 0 && middle <= 40, `loaded rows in the middle of the list: ${middle}`);
  await page.screenshot({ path: `${out}/list-middle.png` });

  await page.fill('[data-testid=search]', 'tanaka');
  await settle(600);
  const titles = await page.locator(`${ROW}`).allInnerTexts();
  expect(titles.length > 0 && titles.every((t) => /tanaka/i.test(t)), `search narrows to matching rows (${await countText()})`);
  await page.selectOption('[data-testid=filter-status]', 'cancelled');
  await page.selectOption('[data-testid=filter-origin]', 'google');
  await settle();
  const statuses = await page.locator(`${ROW} [data-testid=row-status]`).allInnerTexts();
  const origins = await page.locator(`${ROW} [data-testid=row-origin]`).allInnerTexts();
  expect(statuses.every((s) => s === 'Cancelled') && origins.every((o) => o === 'Google'), `status and origin filters apply (${await countText()})`);
  await page.screenshot({ path: `${out}/list-filtered.png` });
  await page.fill('[data-testid=search]', '');
  await page.selectOption('[data-testid=filter-status]', '');
  await page.selectOption('[data-testid=filter-origin]', '');
  await page.selectOption('[data-testid=filter-period]', 'upcoming');
  await settle();

  // Dialog: client-side check, the server's message as is, then a save in another zone.
  await page.click('[data-testid=add-appointment]');
  await page.waitForSelector('[data-testid=appointment-dialog][open]');
  await page.screenshot({ path: `${out}/dialog.png` });
  await page.click('[data-testid=save-appointment]');
  expect((await page.textContent('[data-testid=dialog-error]')) === 'Enter a title.', 'empty title is refused in the dialog');
  await page.fill('[data-testid=field-title]', 'Smoke test appointment');
  await page.fill('[data-testid=field-lead-email]', 'not-an-email');
  await page.click('[data-testid=save-appointment]');
  await settle(200);
  const serverMessage = await page.textContent('[data-testid=dialog-error]');
  expect(serverMessage === 'Lead email "not-an-email" is not a valid email address.', `server message shown as is: ${serverMessage}`);
  await page.screenshot({ path: `${out}/dialog-error.png` });
  await page.fill('[data-testid=field-lead-email]', 'ana@example.com');
  await page.fill('[data-testid=field-lead-name]', 'Ana Smoke');
  const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
  await page.fill('[data-testid=field-start-date]', day);
  await page.fill('[data-testid=field-start-time]', '07:00');
  await page.fill('[data-testid=field-end-date]', day);
  await page.fill('[data-testid=field-end-time]', '07:45');
  await page.selectOption('[data-testid=field-timezone]', 'America/New_York');
  await page.fill('[data-testid=field-rrule]', 'FREQ=WEEKLY;COUNT=3');
  await page.click('[data-testid=save-appointment]');
  await page.waitForSelector('[data-testid=appointment-dialog]', { state: 'detached' });
  await page.fill('[data-testid=search]', 'Smoke test');
  await settle(600);
  const row = page.locator(ROW).first();
  const rowText = (await row.innerText()).replace(/\s+/g, ' ');
  console.log('saved row:', rowText);
  expect(/0?7:00\s*–\s*0?7:45 GMT-5/.test(rowText) && /13:00\s*–\s*13:45 yours/.test(rowText), 'saved row shows its zone and the user time');
  await page.screenshot({ path: `${out}/list-after-add.png` });

  await row.locator('[data-testid=row-edit]').click();
  await page.waitForSelector('[data-testid=appointment-dialog][open]');
  const shown = [
    await page.inputValue('[data-testid=field-start-time]'),
    await page.inputValue('[data-testid=field-timezone]'),
    await page.inputValue('[data-testid=field-rrule]'),
  ];
  expect(shown.join('|') === '07:00|America/New_York|FREQ=WEEKLY;COUNT=3', `edit shows the wall clock in its zone: ${shown.join(' ')}`);
  await page.screenshot({ path: `${out}/dialog-edit.png` });
  await page.keyboard.press('Escape');
  await page.waitForSelector('[data-testid=appointment-dialog]', { state: 'detached' });

  await row.locator('[data-testid=row-cancel]').click();
  await settle();
  expect((await row.locator('[data-testid=row-status]').innerText()) === 'Cancelled', 'cancel marks the row cancelled');
  await row.locator('[data-testid=row-delete]').click();
  await page.waitForSelector('[data-testid=confirm-dialog][open]');
  await page.screenshot({ path: `${out}/confirm-delete.png` });
  await page.click('[data-testid=confirm-delete]');
  await settle();
  expect((await page.locator(ROW).count()) === 0, 'delete after confirmation removes the row');
  await page.fill('[data-testid=search]', '');

  await page.click('[data-testid=tab-week]');
  await page.waitForSelector('[data-testid=week-event]');
  await settle();
  const events = await page.locator('[data-testid=week-event]').count();
  const recurring = await page.locator('[data-testid=week-event].recurring').count();
  expect(events > 0 && recurring > 0, `week view shows ${events} occurrences, ${recurring} from series`);
  await page.screenshot({ path: `${out}/week.png` });
  await page.click('[data-testid=week-next]');
  await settle();
  console.log('next week:', await page.textContent('[data-testid=week-range]'));

  await page.click('[data-testid=authenticate-google]');
  await page.click('[data-testid=connect-google]');
  expect(/next release/.test((await page.textContent('[data-testid=connect-notice]')) ?? ''), 'Connect With Google says it is coming');
  await page.screenshot({ path: `${out}/connect.png` });

  await page.setViewportSize({ width: 1024, height: 700 });
  await page.click('text=Back to appointments');
  await page.click('[data-testid=tab-list]');
  await page.waitForSelector(ROW);
  await settle();
  const fits = await page.evaluate(() => {
    const r = document.querySelector('[data-testid=appointment-row] [data-testid=row-delete]');
    return r ? r.getBoundingClientRect().right <= window.innerWidth : false;
  });
  expect(fits, 'row actions fit at 1024x700');
  await page.screenshot({ path: `${out}/list-1024.png` });
  await page.click('[data-testid=add-appointment]');
  await page.waitForSelector('[data-testid=appointment-dialog][open]');
  const saveVisible = await page.evaluate(() => {
    const b = document.querySelector('[data-testid=save-appointment]');
    return b ? b.getBoundingClientRect().bottom <= window.innerHeight : false;
  });
  expect(saveVisible, 'dialog save button visible at 1024x700');
  await page.screenshot({ path: `${out}/dialog-1024.png` });
  await page.keyboard.press('Escape');
  await page.click('[data-testid=tab-week]');
  await settle();
  await page.screenshot({ path: `${out}/week-1024.png` });

  expect(problems.length === 0, `no console errors, CSP violations or failed requests${problems.length ? ': ' + problems.join('; ') : ''}`);
} finally {
  await browser.close();
  server.close();
}

console.log(`screenshots in ${out}`);
if (failures.length > 0) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
