// End-to-end tests of the web pages in headless Debian Chromium, driven by playwright-core
// (which never downloads a browser here). They start the real binary on a free port with a
// fresh SQLite file holding the demo workspace, then play the calibration flow with four
// separate browser contexts (three graders, one facilitator), score a review, and check that
// every text a user typed renders escaped.
//
// Run: `npm test` in this folder (scripts/test.sh does it). PLUMBLINE_BIN picks the binary
// (default: target/debug/plumbline); CHROMIUM the browser (default: /usr/bin/chromium).

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

// Typed into every text field: if any of it ran, `window.__xss` would be set.
const XSS = `<script>window.__xss=1</script><img src=x onerror="window.__xss=1">`;
const typed = (label) => `${label} ${XSS}`;

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

/** Resolves once the server answers /healthz; fails if the process exits first. */
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
  dataDir = mkdtempSync(join(tmpdir(), 'plumbline-e2e-'));
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

/** A new browser context (its own cookies) signed in as `who`@northwind.example. */
async function signIn(who) {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('dialog', (d) => { throw new Error(`unexpected dialog: ${d.message()}`); });
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

/** Nothing typed ran as code, and the typed text is on the page as text. */
async function assertEscaped(page, label) {
  assert.equal(await page.evaluate(() => window.__xss), undefined, `script ran on ${page.url()}`);
  if (label) {
    const count = await page.getByText(`${label} <script>window.__xss=1</script>`, { exact: false }).count();
    assert.ok(count > 0, `"${label}" with its <script> is not shown as text on ${page.url()}`);
  }
}

/** Submits a form by clicking a button and waits for the page it leads to. */
async function clickAndLoad(page, locator) {
  await Promise.all([page.waitForEvent('load'), locator.click()]);
}

/** Answers every criterion of the scoring form: option `pick(i, count)` of criterion i. */
async function answerAll(page, pick) {
  const fieldsets = page.locator('form fieldset');
  const n = await fieldsets.count();
  for (let i = 0; i < n; i++) {
    const radios = fieldsets.nth(i).locator('input[type=radio]:not([value=na])');
    const count = await radios.count();
    const scored = page.waitForResponse((r) => r.url().endsWith('/score') && r.status() === 200);
    await radios.nth(pick(i, count)).check();
    await scored;
  }
  return n;
}

const state = {};

test('calibration: create, blind scoring by three graders, facilitation, reveal, submit, report', async () => {
  const lead = await signIn('lead');
  await shot(lead.page, 'home-lead');

  // Create the session.
  await lead.page.goto('/calibrations');
  await shot(lead.page, 'calibrations');
  await clickAndLoad(lead.page, lead.page.getByRole('link', { name: 'New session' }));
  await lead.page.getByLabel('Title').fill(typed('Tone check'));
  await lead.page.getByLabel('Goals').fill(typed('Goals'));
  await lead.page.getByLabel('Scorecard version').selectOption({ label: 'Chat Essentials · version 1' });
  await lead.page.getByLabel('Channel').selectOption('chat');
  await lead.page.getByLabel('How many to pick at random').fill('1');
  const picked = lead.page.waitForResponse((r) => r.url().includes('/calibrations/new/conversations'));
  await lead.page.getByRole('button', { name: 'Pick at random' }).click();
  await picked;
  await lead.page.locator('#conversation-choices input[type=checkbox]:checked').first().waitFor();
  assert.equal(await lead.page.locator('#conversation-choices input[type=checkbox]:checked').count(), 1);
  for (const name of ['Tom Becker', 'Ingrid Solberg', 'Marcus Webb']) {
    await lead.page.getByLabel(name, { exact: false }).check();
  }
  await lead.page.getByLabel('Hide the agent\'s name from participants').check();
  await lead.page.getByLabel('Scoring deadline (UTC)').fill('2031-01-15T17:00');
  await shot(lead.page, 'calibration-new');
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Create session' }));
  const sessionUrl = lead.page.url();
  assert.match(sessionUrl, /\/calibrations\/[0-9a-f-]{36}$/);
  state.sessionUrl = sessionUrl;
  await assertEscaped(lead.page, 'Tone check');

  // Setup and people: edit the goals; add a participant, then remove them with a reason (a
  // removal without one is refused, as typed).
  await clickAndLoad(lead.page, lead.page.getByRole('link', { name: 'Setup and people' }));
  await lead.page.getByLabel('Goals').fill(typed('Edited goals'));
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Save setup' }));
  await lead.page.getByText('Setup saved.').waitFor();
  await assertEscaped(lead.page, 'Edited goals');
  await lead.page.getByLabel('Add a participant').selectOption({ label: 'Leila Haddad (reviewer)' });
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Add participant' }));
  await lead.page.getByText('Participant added').waitFor();
  const removeLeila = lead.page.getByRole('button', { name: 'Remove Leila Haddad' });
  await lead.page.getByLabel('Why remove Leila Haddad').evaluate((e) => e.removeAttribute('required'));
  await clickAndLoad(lead.page, removeLeila);
  await lead.page.getByRole('alert').getByText('say why the participant is removed').waitFor();
  await lead.page.getByLabel('Why remove Leila Haddad').fill(typed('On leave'));
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Remove Leila Haddad' }));
  await lead.page.getByText('Participant removed').waitFor();
  await assertEscaped(lead.page, 'On leave');
  await shot(lead.page, 'facilitator-setup');

  // Three graders, each in their own context.
  const graders = await Promise.all(['grader1', 'grader2', 'grader3'].map(signIn));

  // The three graders score at the same time, each with comments only they wrote; the first
  // two submit, the third saves a draft.
  await Promise.all(graders.map(async (g, i) => {
    const { page } = g;
    await page.goto('/');
    await page.getByRole('heading', { name: 'Calibration sessions to score' }).waitFor();
    await assertEscaped(page, 'Tone check');
    await clickAndLoad(page, page.locator('#to-score').locator('..').getByRole('row', { name: /Tone check/ }).getByRole('link', { name: 'Score' }));
    assert.match(page.url(), /\/evaluations\//);
    if (i === 0) await shot(page, 'scoring-calibration-task');
    // The agent's name is hidden from participants.
    assert.equal(await page.getByText('Agent:', { exact: false }).count(), 0);
    await answerAll(page, (c, count) => Math.min(i + (c % 2), count - 1));
    await page.locator('form fieldset').first().getByRole('textbox').fill(typed(`secret comment of grader ${i + 1}`));
    await page.getByLabel('Overall feedback').fill(typed(`overall of grader ${i + 1}`));
    if (i < 2) {
      await clickAndLoad(page, page.getByRole('button', { name: 'Submit' }));
      assert.equal(page.url(), sessionUrl);
    } else {
      await clickAndLoad(page, page.getByRole('button', { name: 'Save draft' }));
    }
  }));

  // Blind: before the reveal no grader sees anyone else's scores, comments or counts.
  for (const [i, g] of graders.entries()) {
    await g.page.goto(sessionUrl);
    const html = await g.page.content();
    for (const [j] of graders.entries()) {
      if (j !== i) assert.ok(!html.includes(`secret comment of grader ${j + 1}`), `grader ${i + 1} sees grader ${j + 1}'s comment`);
    }
    assert.equal(await g.page.getByRole('heading', { name: 'Everyone\'s scores' }).count(), 0);
    assert.ok(!html.includes('submitted</span>'), 'submitted counts leak before the reveal');
    const matrix = await g.page.request.get(`${sessionUrl.replace('/calibrations/', '/api/v1/calibrations/')}/matrix`);
    assert.equal(matrix.status(), 403);
  }
  await shot(graders[1].page, 'participant-session-blind');
  // The third grader submits late, before the reveal.
  await graders[2].page.goto('/');
  await clickAndLoad(graders[2].page, graders[2].page.locator('#to-score').locator('..').getByRole('row', { name: /Tone check/ }).getByRole('link', { name: 'Score' }));
  await clickAndLoad(graders[2].page, graders[2].page.getByRole('button', { name: 'Submit' }));

  // Facilitator: overview (attendance, notes), then a conflicting save from a second tab.
  await lead.page.goto(sessionUrl);
  for (const name of ['Tom Becker', 'Ingrid Solberg', 'Marcus Webb']) {
    await lead.page.getByLabel(`Attendance of ${name}`).selectOption('present');
  }
  await lead.page.getByLabel('Notes').fill(typed('Notes'));
  const second = await lead.context.newPage();
  await second.goto(sessionUrl);
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Save' }));
  await lead.page.getByText('Saved.').waitFor();
  await assertEscaped(lead.page);
  assert.equal(await lead.page.getByLabel('Notes').inputValue(), typed('Notes'));
  await shot(lead.page, 'facilitator-overview');
  await second.getByLabel('Notes').fill('a stale edit');
  await clickAndLoad(second, second.getByRole('button', { name: 'Save' }));
  await second.getByRole('heading', { name: 'Someone else saved this session first' }).waitFor();
  assert.ok((await second.content()).includes('Priya Raman saved revision'));
  await second.getByRole('cell', { name: 'notes' }).first().waitFor();
  await shot(second, 'facilitation-conflict');
  await second.close();

  // Reveal, then the scoring tab: matrix, heat map, bars, suggested and calibrated answers.
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Reveal scores' }));
  await lead.page.getByText('Scores revealed').waitFor();
  assert.ok(await lead.page.locator('table.matrix td.heat-0, table.matrix td.heat-1, table.matrix td.heat-2, table.matrix td.heat-3').count() > 0);
  assert.ok(await lead.page.locator('svg.dist').count() > 0);
  for (const name of ['Tom Becker', 'Ingrid Solberg', 'Marcus Webb']) {
    await lead.page.locator('table.matrix th', { hasText: name }).first().waitFor();
  }
  await assertEscaped(lead.page, 'secret comment of grader 1');
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Use the suggested answers where none is picked' }));
  await lead.page.getByText('Saved.').waitFor();
  const unpicked = await lead.page.locator('table.matrix select').evaluateAll((s) => s.filter((x) => x.value === '').length);
  assert.equal(unpicked, 0);
  await lead.page.getByLabel('Calibrated feedback').fill(typed('Calibrated feedback'));
  await lead.page.getByLabel('To Tom Becker').fill(typed('Feedback to Tom'));
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Save' }));
  await lead.page.getByText('Saved.').waitFor();
  await assertEscaped(lead.page);
  await shot(lead.page, 'facilitator-scoring');

  // Decisions and actions.
  await clickAndLoad(lead.page, lead.page.getByRole('link', { name: 'Decisions and actions' }));
  await lead.page.locator('#decision\\.0\\.text').fill(typed('A decision'));
  await lead.page.locator('#decision\\.0\\.criterion').selectOption({ index: 1 });
  await lead.page.locator('#action\\.0\\.text').fill(typed('An action'));
  await lead.page.locator('#action\\.0\\.kind').selectOption('training');
  await lead.page.locator('#action\\.0\\.due').fill('2031-02-01');
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Save' }));
  await lead.page.getByText('Saved.').waitFor();
  assert.equal(await lead.page.locator('#decision\\.0\\.text').inputValue(), typed('A decision'));
  await shot(lead.page, 'facilitator-decisions');

  // After the reveal, a grader who submitted sees everyone's scores.
  await graders[1].page.goto(sessionUrl);
  await graders[1].page.getByRole('heading', { name: 'Everyone\'s scores' }).waitFor();
  await assertEscaped(graders[1].page);
  await shot(graders[1].page, 'participant-session-revealed');

  // Submit, publishing only if offered, and read the report.
  await lead.page.goto(sessionUrl);
  const publish = lead.page.getByLabel('Publish the calibrated result', { exact: false });
  if (await publish.count()) await publish.check();
  await clickAndLoad(lead.page, lead.page.getByRole('button', { name: 'Submit the session' }));
  assert.match(lead.page.url(), /\/report$/);
  await lead.page.getByRole('heading', { name: 'Participants against the calibrated answer' }).waitFor();
  assert.equal(await lead.page.locator('section[aria-labelledby=graders] tbody tr').count(), 3);
  await assertEscaped(lead.page, 'Calibrated feedback');
  await shot(lead.page, 'calibration-report');

  // A participant's report shows their own row only.
  await graders[0].page.goto(lead.page.url());
  assert.equal(await graders[0].page.locator('section[aria-labelledby=graders] tbody tr').count(), 1);
  await assertEscaped(graders[0].page, 'Feedback to Tom');
  await shot(graders[0].page, 'participant-report');

  // The lead's home lists the open action item.
  await lead.page.goto('/');
  await assertEscaped(lead.page, 'An action');

  for (const g of graders) await g.context.close();
  await lead.context.close();
});

test('recurring series: create, schedule the next occurrence with its seed, calendar; calibrations due', async () => {
  const { context, page } = await signIn('lead');
  await page.getByRole('heading', { name: 'Calibrations due' }).waitFor();
  await page.goto('/calibration-series');
  await shot(page, 'series-list');
  await clickAndLoad(page, page.getByRole('link', { name: 'New series' }));
  await page.getByLabel('Title').fill(typed('Monthly chat'));
  await page.getByLabel('Goals').fill(typed('Series goals'));
  await page.getByLabel('Scorecard', { exact: true }).selectOption({ label: 'Chat Essentials' });
  await page.getByLabel('Cadence').selectOption('every_two_weeks');
  await page.getByLabel('Start time (UTC)').fill('14:30');
  await page.getByLabel('Channel').selectOption('chat');
  await page.getByLabel('Started within days before the date').fill('3650');
  await page.getByLabel('Conversations per occurrence').fill('2');
  for (const name of ['Tom Becker', 'Ingrid Solberg']) await page.getByLabel(name, { exact: false }).check();
  // Forgetting the first date is a form error; what was typed stays.
  await page.getByLabel('First date').evaluate((e) => e.removeAttribute('required'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Create series' }));
  await page.getByRole('alert').getByText('give the first date').waitFor();
  assert.equal(await page.getByLabel('Title').inputValue(), typed('Monthly chat'));
  await shot(page, 'series-new');
  await page.getByLabel('First date').fill(new Date().toISOString().slice(0, 10));
  await clickAndLoad(page, page.getByRole('button', { name: 'Create series' }));
  await page.getByText('Series created.').waitFor();
  await assertEscaped(page, 'Monthly chat');
  await assertEscaped(page, 'Series goals');
  state.seriesUrl = page.url().split('?')[0];
  await clickAndLoad(page, page.getByRole('button', { name: 'Schedule the next occurrence' }));
  await page.getByText('The next occurrence is scheduled').waitFor();
  const first = page.locator('section[aria-labelledby=occurrences] tbody tr').first();
  await first.getByRole('link', { name: 'session' }).waitFor();
  assert.match(await first.locator('code').innerText(), /^\d+$/);
  await shot(page, 'series-detail');
  const ics = await page.request.get(await page.getByRole('link', { name: 'Calendar (.ics)' }).getAttribute('href'));
  assert.equal(ics.status(), 200);
  assert.match(await ics.text(), /BEGIN:VCALENDAR/);
  await context.close();
});

test('conversations: import with a bad row changes nothing, then imports; list, filters, detail', async () => {
  const { context, page } = await signIn('lead');
  const subject = typed('Imported subject');
  const csv = (channel) => [
    'external_id,channel,agent,team,started_at,subject,transcript,csat',
    `E2E-1,chat,Ada Import,E2E Team,2026-01-05 10:00,"${subject.replaceAll('"', '""')}","customer: ${XSS.replaceAll('"', '""')}
agent: Hello",4`,
    `E2E-2,${channel},Ada Import,E2E Team,2026-01-06 11:00,Second,"customer: hi",5`,
  ].join('\n');
  await page.goto('/conversations/import');
  await page.getByLabel('File').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv('fax')) });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Nothing was imported.').waitFor();
  const problem = page.locator('table.problems tbody tr').first();
  // The file's line: the first row's transcript spans two lines, so the bad row is on line 4.
  assert.equal(await problem.locator('td').nth(0).innerText(), '4');
  assert.equal(await problem.locator('td').nth(1).innerText(), 'channel');
  await shot(page, 'import-errors');
  const none = await page.request.get('/api/v1/conversations?limit=500');
  assert.ok(!(await none.text()).includes('E2E-1'), 'a refused import left a row behind');

  await page.getByLabel('File').setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(csv('email')) });
  await page.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported 2 rows: 2 new, 0 updated.').waitFor();
  assert.equal(await page.locator('#upload-bar').evaluate((e) => e.value), 100);
  await shot(page, 'import-done');

  await page.goto('/conversations');
  await assertEscaped(page, 'Imported subject');
  await shot(page, 'conversations');
  await page.getByLabel('Channel').selectOption('email');
  await page.getByLabel('Agent').selectOption({ label: 'Ada Import' });
  await clickAndLoad(page, page.getByRole('button', { name: 'Filter' }));
  assert.equal(await page.locator('section tbody tr').count(), 1);
  await clickAndLoad(page, page.getByRole('link', { name: 'Second' }));
  await page.getByRole('heading', { name: 'Transcript' }).waitFor();
  await page.goto('/conversations');
  await clickAndLoad(page, page.getByRole('link', { name: /Imported subject/ }));
  await assertEscaped(page, 'Imported subject');
  await assertEscaped(page);
  state.conversationUrl = page.url();
  await shot(page, 'conversation-detail');
  // A review started from here is listed on the conversation.
  await clickAndLoad(page, page.getByRole('button', { name: 'Start a review' }));
  assert.match(page.url(), /\/evaluations\//);
  await page.goto(state.conversationUrl);
  assert.equal(await page.locator('section[aria-labelledby=evaluations] tbody tr').count(), 1);
  // Paging keeps going: the demo has more than one page.
  await page.goto('/conversations');
  await clickAndLoad(page, page.getByRole('link', { name: 'Next page' }));
  assert.ok(await page.locator('section tbody tr').count() > 0);
  await context.close();

  // A grader may not import, and reads only their own evaluations of a conversation.
  const grader = await signIn('grader1');
  const refused = await grader.page.goto('/conversations/import');
  assert.equal(refused.status(), 404);
  await grader.context.close();
});

test('scorecard builder: groups, presets, custom options, a refused save, activate, a new version with its diff', async () => {
  const { context, page } = await signIn('lead');
  await page.goto('/scorecards');
  await shot(page, 'scorecards');
  await clickAndLoad(page, page.getByRole('link', { name: 'New scorecard' }));
  await page.getByLabel('Name', { exact: true }).fill(typed('Email care'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Add a group' }));
  await page.getByLabel('Group 1 title').fill(typed('Compliance'));
  await page.getByLabel('Group 1 title').press('Tab');
  await page.getByLabel('critical group').check();
  // Criterion 1: the 1-to-5 preset with a guideline on its best option, in the group.
  await page.getByLabel('Title of criterion 1').fill(typed('Accuracy'));
  await page.getByLabel('Preset for criterion 1').selectOption('one_to_five');
  await clickAndLoad(page, page.getByRole('button', { name: 'Use this preset' }));
  assert.equal(await page.getByLabel('Option 1 points of criterion 1').inputValue(), '5');
  await page.getByLabel('Option 1 guideline of criterion 1').fill(typed('Everything right'));
  await page.locator('#c\\.0\\.group').selectOption({ index: 1 });
  await page.getByLabel('Weight').first().fill('40');
  // Criterion 2: custom options, critical, N/A allowed; left without a title first.
  await clickAndLoad(page, page.getByRole('button', { name: 'Add a criterion' }));
  assert.equal(await page.getByLabel('Option 1 guideline of criterion 1').inputValue(), typed('Everything right'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Add an option' }).nth(1));
  await page.getByLabel('Option 1 label of criterion 2').fill('Verified');
  await page.getByLabel('Option 2 label of criterion 2').fill('Partly');
  await page.getByLabel('Option 2 points of criterion 2').fill('0.5');
  await page.getByLabel('Option 3 label of criterion 2').fill('Not verified');
  await page.getByLabel('Option 3 points of criterion 2').fill('0');
  await page.getByLabel('Option 3 outcome of criterion 2').selectOption('fail');
  await page.getByLabel('Critical (a fail answer fails the evaluation)').nth(1).check();
  await page.getByLabel('N/A allowed').nth(1).check();
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  await page.getByRole('alert').getByText('Criterion 2 (untitled), title: must not be empty').waitFor();
  assert.equal(await page.getByLabel('Option 3 label of criterion 2').inputValue(), 'Not verified');
  await page.getByLabel('Title of criterion 2').fill(typed('Identity verified'));
  await shot(page, 'scorecard-builder');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  await page.getByText('Draft created.').waitFor();
  await assertEscaped(page, 'Email care');
  await assertEscaped(page, 'Everything right');
  await assertEscaped(page, 'Compliance');
  await page.getByText('was not form-calibrated').first().waitFor();
  await clickAndLoad(page, page.getByRole('button', { name: 'Activate version 1' }));
  await page.getByText('Version 1 is active').waitFor();
  await page.getByRole('alert').getByText('was not form-calibrated').waitFor();

  // Version 2: a heavier weight and a renamed criterion, shown in words against version 1.
  await clickAndLoad(page, page.getByRole('link', { name: 'Start a new version from this one' }));
  await page.getByLabel('Weight').first().fill('50');
  await page.getByLabel('Title of criterion 2').fill(typed('Identity checked'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Save' }));
  await page.getByText('Draft created.').waitFor();
  const diff = page.locator('ul.diff');
  await diff.getByText('weight 40 → 50').waitFor();
  await diff.getByText('renamed to', { exact: false }).waitFor();
  await assertEscaped(page, 'Identity checked');
  state.versionUrl = page.url().split('?')[0];
  await shot(page, 'scorecard-version-diff');
  await clickAndLoad(page, page.getByRole('button', { name: 'Activate version 2' }));
  await page.getByText('Version 2 is active').waitFor();
  await page.goto('/scorecards');
  await assertEscaped(page, 'Email care');
  await context.close();
});

test('administration: vendors, teams, users, roles, passwords; API tokens shown once and revoked', async () => {
  const { context, page } = await signIn('admin');
  await clickAndLoad(page, page.getByRole('link', { name: 'Administration' }));
  await page.getByLabel('New vendor').fill(typed('Orbit BPO'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Add vendor' }));
  await page.getByText('Vendor created.').waitFor();
  await page.getByLabel('New team').fill(typed('Orbit nights'));
  await page.getByLabel('Of vendor').selectOption({ label: typed('Orbit BPO') });
  await clickAndLoad(page, page.getByRole('button', { name: 'Add team' }));
  await page.getByText('Team created.').waitFor();
  await page.getByLabel('Name', { exact: true }).fill(typed('Olga Orbit'));
  await page.getByLabel('Email', { exact: true }).fill('olga@orbit.example');
  await page.getByLabel('Role', { exact: true }).selectOption('vendor_lead');
  await page.getByLabel('Vendor', { exact: true }).selectOption({ label: typed('Orbit BPO') });
  await page.getByLabel('Password (10 to 200 characters)').fill('short');
  await page.getByLabel('Password (10 to 200 characters)').evaluate((e) => e.removeAttribute('required'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Add user' }));
  await page.getByRole('alert').getByText('the password must be 10 to 200 characters').waitFor();
  assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), typed('Olga Orbit'));
  await page.getByLabel('Password (10 to 200 characters)').fill('orbit-password-1');
  await clickAndLoad(page, page.getByRole('button', { name: 'Add user' }));
  await page.getByText('User created.').waitFor();
  await assertEscaped(page, 'Olga Orbit');
  await assertEscaped(page, 'Orbit nights');
  await page.getByLabel(`Role of ${typed('Olga Orbit')}`).selectOption('reviewer');
  await clickAndLoad(page, page.getByRole('button', { name: `Save ${typed('Olga Orbit')}` }));
  await page.getByText('User updated.').waitFor();
  assert.equal(await page.getByLabel(`Role of ${typed('Olga Orbit')}`).inputValue(), 'reviewer');
  await shot(page, 'admin');
  // Settings: a good band above the excellent one is refused, as typed.
  await page.getByLabel('Band "good" from (IQS 0-100)').fill('85');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save settings' }));
  await page.getByRole('alert').getByText('the good band must start at or below the excellent band').waitFor();
  assert.equal(await page.getByLabel('Band "good" from (IQS 0-100)').inputValue(), '85');
  await page.getByLabel('Band "good" from (IQS 0-100)').fill('70');
  await page.getByLabel('Calibration tolerance (score points)').fill('6');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save settings' }));
  await page.getByText('Settings saved.').waitFor();
  assert.equal(await page.getByLabel('Calibration tolerance (score points)').inputValue(), '6');

  // Tokens: the secret once, it works, revoked it does not.
  await clickAndLoad(page, page.getByRole('link', { name: /Dana Whitfield/ }));
  await page.getByLabel('New token\'s name').fill(typed('nightly import'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Create token' }));
  const secret = await page.getByLabel('Secret').inputValue();
  assert.match(secret, /^pl_/);
  await assertEscaped(page, 'nightly import');
  await shot(page, 'account-tokens');
  const api = await page.request.get('/api/v1/vendors', { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(api.status(), 200);
  await page.goto('/account');
  assert.equal(await page.getByLabel('Secret').count(), 0, 'the secret is shown again');
  await clickAndLoad(page, page.getByRole('button', { name: /^Revoke/ }));
  await page.getByText('Token revoked').waitFor();
  const revoked = await context.request.get(`${base}/api/v1/vendors`, { headers: { authorization: `Bearer ${secret}`, cookie: '' } });
  assert.equal(revoked.status(), 401);
  await context.close();

  // Only admins see administration.
  const lead = await signIn('lead');
  assert.equal((await lead.page.goto('/admin')).status(), 404);
  await lead.context.close();
});

test('scoring a review: live score, save draft, submit', async () => {
  const { context, page } = await signIn('grader4');
  await clickAndLoad(page, page.locator('#review').locator('..').getByRole('button', { name: 'Review' }).first());
  assert.match(page.url(), /\/evaluations\//);
  await page.locator('#live-score').getByText('Score: –').waitFor();
  // The best option everywhere scores 100.
  const criteria = await answerAll(page, () => 0);
  await page.locator('#live-score').getByText(`${criteria} of ${criteria} answered`).waitFor();
  await page.locator('#live-score').getByText('Score: 100.0').waitFor();
  await page.getByLabel('Overall feedback').fill(typed('Review feedback'));
  await shot(page, 'review-scoring');
  await clickAndLoad(page, page.getByRole('button', { name: 'Save draft' }));
  await page.getByText('Draft saved.').waitFor();
  assert.equal(await page.getByLabel('Overall feedback').inputValue(), typed('Review feedback'));
  state.reviewUrl = page.url().split('?')[0];

  await page.goto('/');
  await page.locator('#drafts').locator('..').getByRole('link', { name: 'Continue' }).first().waitFor();
  await shot(page, 'home-grader');
  await page.goto(state.reviewUrl);
  await clickAndLoad(page, page.getByRole('button', { name: 'Submit' }));
  await page.getByText('Submitted. Thank you.').waitFor();
  await assertEscaped(page, 'Review feedback');
  assert.equal(await page.getByRole('button', { name: 'Submit' }).count(), 0);
  await context.close();
});

test('an unanswered submit is a form error, not a raw error', async () => {
  const { context, page } = await signIn('grader4');
  await clickAndLoad(page, page.locator('#review').locator('..').getByRole('button', { name: 'Review' }).first());
  await page.locator('form fieldset').first().getByRole('textbox').fill(typed('A comment without an answer'));
  await clickAndLoad(page, page.getByRole('button', { name: 'Submit' }));
  await page.getByRole('alert').getByText('choose an answer', { exact: false }).first().waitFor();
  // What was typed comes back, escaped.
  assert.equal(await page.locator('form fieldset').first().getByRole('textbox').inputValue(), typed('A comment without an answer'));
  await assertEscaped(page);
  await context.close();
});

test('every typed text renders escaped; the IQS report; unknown pages are friendly', async () => {
  const { context, page } = await signIn('lead');
  for (const [url, label] of [
    [state.sessionUrl, 'Tone check'],
    [`${state.sessionUrl}/report`, 'A decision'],
    [`${state.sessionUrl}/report`, 'An action'],
    [`${state.sessionUrl}/report`, 'Notes'],
    [state.reviewUrl, 'Review feedback'],
    ['/calibrations', 'Tone check'],
    [state.seriesUrl, 'Monthly chat'],
    [state.conversationUrl, 'Imported subject'],
    ['/conversations', 'Imported subject'],
    [state.versionUrl, 'Identity checked'],
    ['/reports/calibration', 'Tone check'],
    ['/scorecards', 'Email care'],
    ['/calibration-series', 'Monthly chat'],
  ]) {
    await page.goto(url);
    await assertEscaped(page, label);
  }
  await page.goto('/reports/iqs');
  await page.getByLabel('Group by').selectOption('team');
  await clickAndLoad(page, page.getByRole('button', { name: 'Show' }));
  await page.locator('svg[role=img] rect').first().waitFor();
  await shot(page, 'report-iqs');
  const csv = await page.request.get(await page.getByRole('link', { name: 'Download this table as CSV' }).getAttribute('href'));
  assert.equal(csv.status(), 200);
  assert.match(csv.headers()['content-type'], /text\/csv/);

  // Calibration Performance: the session just submitted, its graders with the trend charts.
  await page.goto('/reports/calibration');
  assert.ok(await page.locator('section[aria-labelledby=graders] tbody tr').count() >= 3);
  assert.ok(await page.locator('.multiples svg[role=img]').count() >= 3);
  await page.locator('section[aria-labelledby=sessions]').getByRole('row', { name: /Tone check/ }).waitFor();
  await assertEscaped(page, 'Tone check');
  for (const section of ['graders', 'criteria', 'versions', 'vendors', 'sessions']) {
    const href = await page.locator(`a[href*="section=${section}"]`).getAttribute('href');
    const res = await page.request.get(href);
    assert.equal(res.status(), 200, href);
    assert.match(res.headers()['content-type'], /text\/csv/);
  }
  await shot(page, 'report-calibration');
  // A vendor lead sees their own vendor's graders only, and no criterion section.
  const vendorLead = await signIn('atlas.lead');
  await vendorLead.page.goto('/reports/calibration');
  const vendors = await vendorLead.page.locator('section[aria-labelledby=graders] tbody tr td:nth-child(2)').allInnerTexts();
  assert.ok(vendors.length > 0 && vendors.every((v) => v.startsWith('Atlas BPO')), `vendor lead sees ${vendors}`);
  assert.equal(await vendorLead.page.getByRole('heading', { name: 'Hardest criteria' }).count(), 0);
  await shot(vendorLead.page, 'report-calibration-vendor-lead');
  await vendorLead.context.close();
  await page.getByLabel('Sessions submitted from').fill('2001-01-01');
  await page.getByLabel('Submitted before').fill('2001-02-01');
  await clickAndLoad(page, page.getByRole('button', { name: 'Show' }));
  await page.getByText('No submitted sessions in this period.').first().waitFor();

  const missing = await page.goto('/calibrations/00000000-0000-0000-0000-000000000000');
  assert.equal(missing.status(), 404);
  await page.getByRole('heading', { name: 'Not found' }).waitFor();
  await context.close();
});
