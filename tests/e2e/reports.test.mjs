// End-to-end tests of the QA program report pages on the demo workspace, in headless Debian
// Chromium driven by playwright-core: the BPO vendor view and IQS vs CSAT with screenshots,
// a calibration session created from the ticked mismatches, a vendor lead's view of their own
// vendor, and a target whose typed name renders escaped.
//
// Run with the others: `npm test` in this folder. PLUMBLINE_BIN and CHROMIUM as in web.test.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.PLUMBLINE_BIN || resolve(here, '../../target/debug/plumbline');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = join(here, 'screenshots');
const PASSWORD = 'plumbline-demo';
const XSS = `<script>window.__xss=1</script><img src=x onerror="window.__xss=1">`;

let server;
let dataDir;
let base;
let browser;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function waitUntilServing(child, url) {
  return new Promise((ok, fail) => {
    let done = false;
    child.once('exit', (code) => { if (!done) { done = true; fail(new Error(`plumbline exited with ${code}`)); } });
    const probe = () => {
      if (done) return;
      fetch(`${url}/healthz`).then((r) => {
        if (r.ok) { done = true; ok(); } else { setImmediate(probe); }
      }, () => setTimeout(probe, 50));
    };
    probe();
  });
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'plumbline-e2e-reports-'));
  execFileSync(BIN, ['demo', '--data-dir', dataDir], { stdio: 'ignore' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const [, launched] = await Promise.all([
    waitUntilServing(server, base),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
  ]);
  browser = launched;
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((ok) => server.once('exit', ok));
    server.kill('SIGTERM');
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(who) {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => { throw e; });
  await page.goto('/login');
  await page.getByLabel('Email').fill(`${who}@northwind.example`);
  await page.getByLabel('Password').fill(PASSWORD);
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
  return { context, page };
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

test('reports: BPO vendors and IQS vs CSAT; a calibration session from selected mismatches', async () => {
  const { context, page } = await signIn('lead');
  await page.goto('/reports/vendors');
  await page.getByRole('heading', { name: 'Atlas BPO' }).waitFor();
  await page.getByText(/Atlas BPO's graders score [\d.]+ points (higher|lower) than internal graders/).waitFor();
  assert.ok(await page.locator('svg[role=img] title').count() >= 2, 'bars and a trend per vendor');
  await shot(page, 'report-vendors');
  const csv = await page.request.get(await page.getByRole('link', { name: 'Download the vendor table as CSV' }).getAttribute('href'));
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);

  // Every report tab opens with its heading.
  for (const [tab, heading] of [['Trend', 'IQS trend'], ['Self-assessment', 'Self-assessment'],
    ['Leaderboard', 'Leaderboard'], ['Targets', 'IQS targets'], ['IQS overview', 'IQS overview']]) {
    await clickAndLoad(page, page.getByRole('navigation', { name: 'Reports' }).getByRole('link', { name: tab, exact: true }));
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
  }

  await page.goto('/reports/csat');
  await page.getByRole('heading', { name: 'Correlation' }).waitFor();
  await shot(page, 'report-csat');
  // A session calibrates one scorecard: show the conversations reviewed with the first one.
  await page.getByLabel('Scorecard').selectOption({ index: 1 });
  await clickAndLoad(page, page.getByRole('button', { name: 'Show' }));
  const boxes = page.locator('input[name=evaluation_ids]');
  assert.ok(await boxes.count() >= 2, 'the demo has conversations where IQS and CSAT disagree');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  // Without a participant the form comes back with the reason and the ticks kept.
  await clickAndLoad(page, page.getByRole('button', { name: 'Create a calibration session from selected' }));
  await page.getByText('Tick at least one participant.').waitFor();
  assert.ok(await page.locator('input[name=evaluation_ids]:checked').count() === 2);
  await page.getByLabel('Session title').fill('CSAT disagreements');
  await page.getByLabel(/^Dana Whitfield/).check();
  await clickAndLoad(page, page.getByRole('button', { name: 'Create a calibration session from selected' }));
  assert.match(page.url(), /\/calibrations\/[0-9a-f-]{36}$/, await page.locator('.error').allInnerTexts().then(String));
  await page.getByText('CSAT disagreements').first().waitFor();
  await context.close();

  // A vendor lead sees their own vendor only, and no form.
  const lead = await signIn('atlas.lead');
  await lead.page.goto('/reports/vendors');
  const names = await lead.page.locator('section h2').allInnerTexts();
  assert.deepEqual(names, ['Atlas BPO']);
  await lead.page.goto('/reports/csat');
  assert.equal(await lead.page.getByRole('button', { name: /Create a calibration session/ }).count(), 0);
  await shot(lead.page, 'report-csat-vendor-lead');
  await lead.context.close();
});

test('targets: a refused form keeps what was typed; the new target renders escaped', async () => {
  const { context, page } = await signIn('lead');
  await page.goto('/reports/targets');
  const name = `Chat to ninety ${XSS}`;
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('IQS to reach').fill('90');
  await page.getByLabel('Start').fill('2026-12-31');
  await page.getByLabel('Due').fill('2026-01-01');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create target' }));
  await page.getByText('must be after the start date').first().waitFor();
  assert.equal(await page.getByLabel('Name').inputValue(), name);
  assert.equal(await page.getByLabel('Start').inputValue(), '2026-12-31');
  await page.getByLabel('Start').fill('2026-01-01');
  await page.getByLabel('Due').fill('2026-12-31');
  await clickAndLoad(page, page.getByRole('button', { name: 'Create target' }));
  await page.getByRole('heading', { name: /Chat to ninety/ }).waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'a typed script ran');
  assert.ok(await page.getByText(`Chat to ninety <script>`, { exact: false }).count() > 0);
  await shot(page, 'report-targets');
  await context.close();
});
