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

const text = async (sel) => ((await page.textContent(sel)) ?? '').replace(/\s+/g, ' ').trim();
const T = (id) => `[data-testid=${id}]`;

// Connect, the connected header, settings, synchronize, activity, pause, remove; then the
// states reached through the fake backend's URL switches.
async function googleFlows() {
  await page.goto(`${base}?rows=3000&connectDelay=2500`);
  await page.waitForSelector(ROW);
  await page.click(T('authenticate-google'));
  await page.waitForSelector(T('connect-google'));
  await page.screenshot({ path: `${out}/connect.png` });
  await page.click(T('connect-google'));
  await page.waitForSelector(T('connect-waiting'));
  await page.waitForSelector(T('connect-url'));
  expect(/Waiting for Google/.test(await text(T('connect-waiting'))), 'connect shows the wait');
  expect((await text(T('connect-countdown'))).startsWith('5:00') || (await text(T('connect-countdown'))).startsWith('4:5'), `countdown starts at 5 minutes (${await text(T('connect-countdown'))})`);
  expect((await page.inputValue(T('connect-url'))).includes('code_challenge_method=S256'), 'the authorization URL is shown to copy');
  await page.screenshot({ path: `${out}/connect-waiting.png` });
  await page.click(T('connect-cancel'));
  await page.waitForSelector(T('connect-error'));
  expect(/cancelled/i.test(await text(T('connect-error'))), `cancel is shown in words: ${await text(T('connect-error'))}`);
  await page.screenshot({ path: `${out}/connect-cancelled.png` });
  await page.click(T('connect-google'));
  await page.waitForSelector(T('google-account'), { timeout: 10_000 });
  expect(/Connected as ana\.silva@example\.com/.test(await text(T('google-account'))), 'connected header shows the email');
  for (const id of ['sync-google', 'sync-settings', 'remove-google', 'sync-now', 'sync-pause']) {
    expect((await page.locator(T(id)).count()) === 1, `header has ${id}`);
  }
  await settle(600);
  const badges = await page.locator(`${ROW} [data-testid=row-sync]`).allInnerTexts();
  expect(badges.some((b) => /Not in Google/.test(b)), `rows show sync badges (${[...new Set(badges)].join(', ')})`);
  await page.screenshot({ path: `${out}/connected.png` });

  // A new appointment waits in the outbox, then is synced.
  await page.click('[data-testid=add-appointment]');
  await page.fill('[data-testid=field-title]', 'Pending demo');
  await page.click('[data-testid=save-appointment]');
  await page.waitForSelector(T('sync-pending'));
  expect(/1 waiting to be sent/.test(await text(T('sync-pending'))), 'pending count shows after a change');
  await page.fill('[data-testid=search]', 'Pending demo');
  await settle(500);
  expect((await text(`${ROW} [data-testid=row-sync]`)) === 'Pending', 'the new row is pending');
  await page.screenshot({ path: `${out}/row-pending.png` });
  await page.waitForSelector(T('sync-pending'), { state: 'detached', timeout: 8000 });
  await settle(400);
  expect((await text(`${ROW} [data-testid=row-sync]`)) === 'Synced', 'and then synced');
  await page.fill('[data-testid=search]', '');

  // Calendar Sync Settings.
  await page.click(T('sync-settings'));
  await page.waitForSelector(`${T('settings-dialog')}[open] ${T('settings-direction')}`);
  expect((await page.inputValue(T('settings-calendar'))) === 'primary', 'the main calendar (alias "primary") shows as chosen');
  const calsBoth = await page.locator(`${T('settings-calendar')} option`).allInnerTexts();
  expect(calsBoth.every((c) => !/read-only/.test(c)), `direction A offers only writable calendars (${calsBoth.length})`);
  await page.selectOption(T('settings-direction'), 'google-to-crm');
  const calsB = await page.locator(`${T('settings-calendar')} option`).allInnerTexts();
  expect(calsB.some((c) => /read-only/.test(c)), 'direction B offers read-only calendars too');
  expect(/no longer be sent to Google; changes in Google will still come in/.test(await text(T('settings-changes'))), 'direction change is explained before saving');
  await page.fill(T('settings-title-template'), '{title} — {lead_name}');
  await page.check(T('settings-lead-phone'));
  expect(/Product demo — Priya Patel/.test(await text(T('settings-title-preview'))), 'title template preview');
  await page.screenshot({ path: `${out}/settings.png` });
  await page.fill(T('settings-title-template'), '{lead_name}');
  expect(/exactly once/.test(await text(T('settings-title-preview'))) && (await page.isDisabled(T('settings-save'))), 'a template without {title} cannot be saved');
  await page.fill(T('settings-title-template'), '{title} — {lead_name}');
  await page.click(T('settings-save'));
  await page.waitForSelector(T('settings-dialog'), { state: 'detached' });
  expect(/saved/.test(await text(T('toast'))), 'settings saved');
  await page.click(T('sync-settings'));
  await page.waitForSelector(`${T('settings-dialog')}[open] ${T('settings-direction')}`);
  expect((await page.inputValue(T('settings-direction'))) === 'google-to-crm', 'saved direction is shown again');
  await page.selectOption(T('settings-direction'), 'both');
  await page.click(T('settings-save'));
  await page.waitForSelector(T('settings-dialog'), { state: 'detached' });

  // Synchronize Google Calendar.
  await page.click(T('sync-google'));
  await page.waitForSelector(`${T('backfill-dialog')}[open]`);
  const options = await page.locator(`${T('backfill-direction')} option`).allInnerTexts();
  expect(options.join('|') === 'A) Sync all events between Google Calendar and Bookline|B) Only sync events from Google Calendar to Bookline|C) Only sync events from Bookline to Google Calendar', 'backfill offers the seed options');
  expect(await page.isDisabled(T('backfill-run')), 'Run waits for a preview');
  await page.click(T('backfill-preview-button'));
  await page.waitForSelector(T('backfill-preview'));
  const pv = await text(T('backfill-preview'));
  expect(/Will create [\d,]+ appointments in Google/.test(pv) && /into Bookline/.test(pv) && /already linked — skipped/.test(pv) && /same start, end and title/.test(pv), `preview in sentences: ${pv}`);
  await page.screenshot({ path: `${out}/backfill-preview.png` });
  await page.click(T('backfill-run'));
  await page.waitForSelector(T('backfill-progress'));
  await settle(1500);
  expect(/Transferring… \d+%/.test(await text(T('backfill-progress'))) && /left/.test(await text(T('backfill-progress'))), `progress with time left: ${await text(T('backfill-progress'))}`);
  await page.screenshot({ path: `${out}/backfill-progress.png` });
  await page.click(T('backfill-hide'));
  await page.waitForSelector(T('backfill-indicator'));
  expect(/Transferring… \d+%/.test(await text(T('backfill-indicator'))), 'closing the dialog leaves a header indicator');
  await page.screenshot({ path: `${out}/backfill-indicator.png` });
  await page.click(T('backfill-indicator'));
  await page.waitForSelector(T('backfill-summary'), { timeout: 30_000 });
  expect(/Transfer finished/.test(await text(T('backfill-summary'))), `summary: ${await text(T('backfill-summary'))}`);
  await page.screenshot({ path: `${out}/backfill-summary.png` });
  await page.click(T('backfill-done'));
  expect((await page.locator(T('backfill-indicator')).count()) === 0, 'the indicator goes once the summary is seen');

  // A second run: cancel mid-way.
  await page.click(T('sync-google'));
  await page.selectOption(T('backfill-direction'), 'google-to-crm');
  await page.click(T('backfill-preview-button'));
  await page.waitForSelector(T('backfill-preview'));
  const second = await text(T('backfill-preview'));
  expect(!/in Google/.test(second.split('.')[0]) || /Will bring/.test(second), `direction B previews only Bookline side: ${second}`);
  await page.click(T('backfill-dialog') + ' button:has-text("Close")');

  // Sync activity.
  await page.click(T('tab-activity'));
  await page.waitForSelector(T('activity-entry'));
  const first = await page.locator(T('activity-entry')).count();
  const ids = (await page.locator(T('activity-entry')).evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-id')))));
  expect(ids.every((id, i) => i === 0 || ids[i - 1] > id), 'activity is newest first');
  await page.screenshot({ path: `${out}/activity.png` });
  await page.click(T('activity-more'));
  await settle();
  expect((await page.locator(T('activity-entry')).count()) > first, 'load more pages older entries');
  await page.click(T('tab-list'));

  // Sync now, pause, resume.
  await page.click(T('sync-now'));
  await page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid=toast]')?.textContent ?? ''), null, { timeout: 5000 });
  await page.click(T('sync-pause'));
  await page.waitForFunction(() => /paused/.test(document.querySelector('[data-testid=sync-state]')?.textContent ?? ''));
  await page.screenshot({ path: `${out}/paused.png` });
  await page.click(T('sync-pause'));
  await page.waitForFunction(() => /Synced/.test(document.querySelector('[data-testid=sync-state]')?.textContent ?? ''));

  await page.setViewportSize({ width: 1024, height: 700 });
  const headerFits = await page.evaluate(() => {
    const r = document.querySelector('[data-testid=remove-google]');
    return r ? r.getBoundingClientRect().right <= window.innerWidth : false;
  });
  expect(headerFits, 'connected header fits at 1024x700');
  await page.screenshot({ path: `${out}/connected-1024.png` });
  await page.setViewportSize({ width: 1280, height: 800 });

  // Remove Google Account.
  await page.click(T('remove-google'));
  await page.waitForSelector(T('remove-dialog'));
  expect(!(await page.isChecked(T('remove-keep-imported'))), 'keep imported is unticked by default');
  const explained = await text(T('remove-dialog'));
  expect(/revoked at Google/.test(explained) && /keyring/.test(explained) && /always kept/.test(explained) && /stay in Google/.test(explained), 'remove page says what will happen');
  await page.screenshot({ path: `${out}/remove.png` });
  await page.click(T('remove-confirm'));
  await page.waitForSelector(T('remove-report'));
  expect(/removed from Bookline/.test(await text(T('remove-report'))), `remove report: ${await text(T('remove-report'))}`);
  await page.screenshot({ path: `${out}/remove-report.png` });
  await page.click(T('remove-done'));
  await page.waitForSelector(T('authenticate-google'));
  expect((await page.locator(T('sync-google')).count()) === 0, 'back to not connected');

  // States reached through URL switches.
  await page.goto(`${base}?rows=500&google=reconnect`);
  await page.waitForSelector(T('reconnect-google'));
  expect(/Needs reconnecting/.test(await text(T('sync-state'))) && /Reconnect to resume/.test(await text(T('sync-attention'))), `needs reconnect is said in words: ${await text(T('sync-attention'))}`);
  await page.screenshot({ path: `${out}/needs-reconnect.png` });
  await page.click(T('reconnect-google'));
  await page.waitForSelector('text=Reconnect your Google account');
  await page.screenshot({ path: `${out}/reconnect.png` });

  await page.goto(`${base}?rows=500&client=0`);
  await page.click(T('authenticate-google'));
  await page.waitForSelector(T('connect-setup'));
  expect(/BOOKLINE_GOOGLE_CLIENT_ID/.test(await text(T('connect-setup'))) && (await page.locator(T('connect-google')).count()) === 0, 'no client: the page explains instead of a dead button');
  await page.screenshot({ path: `${out}/connect-not-configured.png` });

  await page.goto(`${base}?rows=500&connect=denied&connectDelay=300`);
  await page.click(T('authenticate-google'));
  await page.click(T('connect-google'));
  await page.waitForSelector(T('connect-error'));
  expect(/Access was not allowed/.test(await text(T('connect-error'))), 'access denied in words');
  await page.screenshot({ path: `${out}/connect-denied.png` });

  await page.goto(`${base}?rows=500&google=connected&backfill=unfinished`);
  await page.waitForSelector(T('backfill-resume-offer'));
  await page.screenshot({ path: `${out}/backfill-resume-offer.png` });
  await page.click(T('backfill-resume-open'));
  await page.waitForSelector(T('backfill-resume'));
  await page.screenshot({ path: `${out}/backfill-resume.png` });
  await page.keyboard.press('Escape');

  await page.goto(`${base}?rows=3000&google=connected`);
  await page.click(T('sync-google'));
  await page.click(T('backfill-preview-button'));
  await page.waitForSelector(T('backfill-preview'));
  await page.click(T('backfill-run'));
  await page.waitForSelector(T('backfill-progress'));
  await settle(800);
  await page.click(T('backfill-cancel'));
  await page.waitForSelector(T('backfill-summary'));
  expect((await page.getAttribute(T('backfill-summary'), 'data-state')) === 'cancelled' && /Transfer stopped/.test(await text(T('backfill-summary'))), `cancel ends in a summary: ${await text(T('backfill-summary'))}`);
  await page.screenshot({ path: `${out}/backfill-cancelled.png` });
  await page.click(T('backfill-done'));

  await page.goto(`${base}?rows=500&google=connected&revoke=fail`);
  await page.waitForSelector(ROW);
  await settle();
  const states = await page.locator(`${ROW} [data-testid=row-sync]`).evaluateAll((els) => els.map((e) => `${e.textContent?.trim()}|${e.getAttribute('title')}`));
  expect(
    ['Synced|', 'Pending|Waiting', 'Sync error|Could not sync: Google refused', 'Not in Google|Not in Google — use Synchronize Google Calendar'].every((want) => {
      const [label, tip] = want.split('|');
      return states.some((st) => st.split('|')[0].endsWith(label) && st.split('|')[1].startsWith(tip));
    }),
    `rows show pending, synced, error (with its reason) and not-in-Google badges`,
  );
  await page.screenshot({ path: `${out}/row-badges.png` });
  await page.click(T('remove-google'));
  await page.check(T('remove-keep-imported'));
  await page.click(T('remove-confirm'));
  await page.waitForSelector(T('remove-revoke-failed'));
  expect(/Google could not be reached to revoke access/.test(await text(T('remove-revoke-failed'))), 'revoke failure is reported');
  expect(/No appointments were removed/.test(await text(T('remove-report'))), 'keep imported keeps Google rows');
  await page.screenshot({ path: `${out}/remove-revoke-failed.png` });
}

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
  await page.selectOption('[data-testid=field-repeat]', 'weekly');
  await page.check('[data-testid=repeat-end-count]');
  await page.fill('[data-testid=repeat-count]', '3');
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
    await page.textContent('[data-testid=repeat-sentence]'),
  ];
  expect(/^07:00\|America\/New_York\|↻ Weekly on \w+day, 3 times$/.test(shown.join('|')), `edit shows the wall clock in its zone and the rule: ${shown.join(' ')}`);
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

  await page.setViewportSize({ width: 1024, height: 700 });
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

  await page.setViewportSize({ width: 1280, height: 800 });
  await googleFlows();

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
