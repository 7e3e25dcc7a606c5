// End-to-end tests of the reviewer console in real headless Chromium (Debian's package, driven by
// playwright-core). e2e/run.sh starts a demo desk with no cases and sets BASE_URL and
// PLATFORM_TOKEN; the tests create their own cases through the API and walk one of them from
// intake to a recorded decision, as a specialist, a legal partner and the keyboard would.
//
// The tests run in order and share one browser; each later step needs the earlier ones, and is
// skipped (not failed again) when a step it depends on has failed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE_URL = required('BASE_URL').replace(/\/$/, '');
const PLATFORM_TOKEN = required('PLATFORM_TOKEN');
const LEAD_TOKEN = required('LEAD_TOKEN');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCREENSHOT_DIR =
  process.env.SCREENSHOT_DIR || join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
const PASSWORD = 'warden-demo-1';
const VIEWPORT = { width: 1280, height: 800 };
const STEP_TIMEOUT = 20_000; // per test()
const WAIT_TIMEOUT = 8_000; // per wait inside a test

const host = new URL(BASE_URL).hostname;
if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
  throw new Error(`BASE_URL must be a loopback address, not ${BASE_URL}`);
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through e2e/run.sh`);
  return value;
}

// ---------------------------------------------------------------- browser and helpers

let userDataDir;
let specialistContext; // the persistent context: ana.specialist
let partnerContext; // a second, isolated context: lee.legal
let ana; // ana.specialist's page
let lee; // lee.legal's page
const pageErrors = []; // uncaught exceptions in the console's scripts

/** What the earlier steps established; later steps skip when their input is missing. */
const state = {
  caseId: null,
  signedIn: false,
  claimed: false,
  question: null,
  decided: false,
  partnerSignedIn: false,
};

before(async () => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  userDataDir = mkdtempSync(join(tmpdir(), 'warden-e2e-chromium-'));
  specialistContext = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    viewport: VIEWPORT,
    timeout: 30_000,
  });
  partnerContext = await specialistContext.browser().newContext({ viewport: VIEWPORT });
  for (const context of [specialistContext, partnerContext]) {
    context.setDefaultTimeout(WAIT_TIMEOUT);
    context.setDefaultNavigationTimeout(WAIT_TIMEOUT);
    // Nothing but the desk under test: any other address is refused.
    await context.route(
      (url) => url.origin !== BASE_URL,
      (route) => route.abort('blockedbyclient'),
    );
  }
  ana = specialistContext.pages()[0] || (await specialistContext.newPage());
  lee = await partnerContext.newPage();
  for (const [who, page] of [['ana', ana], ['lee', lee]]) {
    page.on('pageerror', (error) => pageErrors.push(`${who} on ${page.url()}: ${error.message}`));
  }
});

after(async () => {
  await partnerContext?.close().catch(() => {});
  await specialistContext?.close().catch(() => {});
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

function needs(t, ...keys) {
  const missing = keys.filter((k) => !state[k]);
  if (missing.length > 0) {
    t.skip(`an earlier step failed (missing: ${missing.join(', ')})`);
    return false;
  }
  return true;
}

async function screenshot(page, name) {
  // Let images (the blurred media) finish loading so the picture shows what a person sees.
  await page
    .waitForFunction(() => Array.from(document.images).every((i) => i.complete), null, {
      timeout: 3_000,
    })
    .catch(() => {});
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Polls until the locator's text matches, then asserts it (so a failure shows the actual text). */
async function expectText(locator, pattern, message) {
  const deadline = Date.now() + WAIT_TIMEOUT;
  let text = '';
  for (;;) {
    text = ((await locator.first().textContent({ timeout: WAIT_TIMEOUT }).catch(() => null)) ?? '')
      .replace(/\s+/g, ' ')
      .trim();
    if (pattern.test(text) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(text, pattern, message);
}

/** Waits until fn(page) returns true; fails with the message otherwise. */
async function eventually(page, fn, arg, message) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_TIMEOUT, polling: 100 });
  } catch {
    assert.fail(message);
  }
}

function flash(page) {
  return page.locator('main .flash');
}

async function signIn(page, username) {
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/sign-in(\?|$)/);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'));
  await page.waitForLoadState('load');
}

async function api(method, path, body, token = PLATFORM_TOKEN) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_TIMEOUT),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON: keep the text for the message */
  }
  return { status: response.status, json, text };
}

// ---------------------------------------------------------------- the scenario

test('1. a user report comes in through the API and opens a case in ads_fraud', { timeout: STEP_TIMEOUT }, async () => {
  const { status, json, text } = await api('POST', '/api/v1/reports', {
    subject: {
      kind: 'photo',
      external_id: 'e2e-photo-1',
      snapshot: {
        text: 'Guaranteed returns zebrafinch wallet scheme',
        media_urls: [`${BASE_URL}/demo/media/e2e-1.svg`],
        author_id: 'acct-e2e',
        country: 'FR',
        language: 'fr',
        reach: 5000,
      },
    },
    source: 'user',
    reporter: { id: 'reporter-e2e' },
    reason: 'scams.financial',
    text: 'Stole my savings',
    idempotency_key: 'e2e-1',
  });
  assert.equal(status, 201, `POST /api/v1/reports: ${text}`);
  assert.ok(Number.isInteger(json.case_id), `receipt without case_id: ${text}`);
  assert.equal(json.queue, 'ads_fraud', `receipt: ${text}`);
  state.caseId = json.case_id;
});

test('2. the specialist signs in and claims the next case of the queue', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'caseId')) return;
  await ana.goto(`${BASE_URL}/`);
  await ana.waitForURL(/\/sign-in(\?|$)/);
  assert.equal(new URL(ana.url()).pathname, '/sign-in', 'a visitor is sent to the sign-in page');
  await ana.locator('#username').waitFor();
  await screenshot(ana, 'sign-in');

  await ana.fill('#username', 'ana.specialist');
  await ana.fill('#password', PASSWORD);
  await ana.getByRole('button', { name: 'Sign in' }).click();
  await ana.waitForURL(`${BASE_URL}/`);
  await expectText(ana.locator('h1'), /^Queues$/);
  state.signedIn = true;
  const row = ana.locator('tr[data-queue="ads_fraud"]');
  await row.waitFor();
  await screenshot(ana, 'queues');

  await row.getByRole('button', { name: /Claim next/ }).click();
  await ana.waitForURL(new RegExp(`/cases/${state.caseId}(\\?|$)`));
  await expectText(ana.locator('h1'), new RegExp(`^Case C-${state.caseId}$`));
  await expectText(flash(ana), /^Case claimed/);
  state.claimed = true;
});

test('3. the media is blurred until revealed, and revealing it counts an exposure', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'claimed')) return;
  const figure = ana.locator('figure.media').first();
  await figure.waitFor();
  assert.match((await figure.getAttribute('class')) ?? '', /\bis-blurred\b/);
  const img = figure.locator('img');
  await img.scrollIntoViewIfNeeded();
  await eventually(
    ana,
    () => {
      const i = document.querySelector('figure.media img');
      return i && i.complete && i.naturalWidth > 0;
    },
    null,
    'the sample image did not load',
  );
  const filter = await img.evaluate((el) => getComputedStyle(el).filter);
  assert.match(filter, /blur/, `computed filter of the blurred image: ${filter}`);
  await expectText(ana.locator('#exposure-count'), /^0$/);
  await ana.evaluate(() => window.scrollTo(0, 0));
  await screenshot(ana, 'case-blurred');

  await figure.locator('[data-reveal]').click();
  await eventually(
    ana,
    () => !document.querySelector('figure.media').classList.contains('is-blurred'),
    null,
    'the figure is still blurred after "Show media"',
  );
  // The filter eases out (a CSS transition): wait for it to settle.
  await eventually(
    ana,
    () => !/blur/.test(getComputedStyle(document.querySelector('figure.media img')).filter),
    null,
    'the image is still blurred (computed filter) after "Show media"',
  );
  await expectText(ana.locator('#exposure-count'), /^1$/, 'the exposure counter counts the reveal');
  assert.ok(await figure.locator('[data-hide]').isVisible(), '"Blur again" is offered');
  await ana.evaluate(() => window.scrollTo(0, 0));
  await screenshot(ana, 'case-revealed');
});

test('4. a note is added to the case', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'claimed')) return;
  const body = 'E2E note: same wallet address as last week.';
  await ana.fill('#note-body', body);
  await ana.getByRole('button', { name: 'Add note' }).click();
  await ana.waitForURL(/[?&]done=noted/);
  await expectText(flash(ana), /^Note added\.$/);
  await expectText(ana.locator('section[aria-labelledby="notes-h"] ul.notes'), /same wallet address as last week/);
});

test('5. a legal consultation is asked, answered by the partner, and shown on the case', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'claimed', 'caseId')) return;
  const question = `E2E: may we remove this under French law? (${Date.now()})`;
  await ana.selectOption('#consult-team', 'legal');
  await ana.fill('#consult-question', question);
  await ana.getByRole('button', { name: 'Ask', exact: true }).click();
  await ana.waitForURL(/[?&]done=asked/);
  await expectText(flash(ana), /Question sent/);
  await expectText(ana.locator('#case-status'), /^waiting_consultation$/);
  state.question = question;

  // The partner, in a browser context of their own.
  await signIn(lee, 'lee.legal');
  assert.equal(new URL(lee.url()).pathname, '/consultations', 'a partner lands on the consultations inbox');
  state.partnerSignedIn = true;
  await expectText(lee.locator('h1'), /^Consultations$/);
  const item = lee.locator('li.js-row', { hasText: question });
  await item.waitFor();
  await expectText(item.locator('h2'), new RegExp(`C-${state.caseId}\\b.*legal`));
  await screenshot(lee, 'consultations');

  const answer = 'E2E answer: yes, it is a scam under Article 313-1 of the Code pénal.';
  const textarea = item.locator('textarea[id^="answer-"]');
  assert.equal(await textarea.count(), 1, 'one answer box per question');
  await textarea.fill(answer);
  await item.getByRole('button', { name: 'Send answer' }).click();
  await lee.waitForURL(/\/consultations\?done=answered/);
  await expectText(flash(lee), /^Answer sent\.$/);

  await ana.goto(`${BASE_URL}/cases/${state.caseId}`);
  await expectText(ana.locator('#case-status'), /^in_review$/);
  await expectText(ana.locator('section[aria-labelledby="consult-h"]'), /Answer: E2E answer: yes/);
});

test('6. a decision under community.fraud_scams@1 is previewed and recorded', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'claimed', 'caseId')) return;
  await ana.goto(`${BASE_URL}/cases/${state.caseId}`);
  await ana.selectOption('#decision-policy', 'community.fraud_scams@1');
  const remove = ana.locator('#policy-panel input[name="action"][value="remove"]');
  await remove.waitFor(); // htmx swapped the policy's panel in
  await expectText(ana.locator('#policy-panel .policy-text'), /Fraud and scams/);
  assert.equal(
    await ana.locator('#policy-panel input[name="action"][value="geo_block"]').count(),
    0,
    'geo_block is not an action community.fraud_scams@1 allows',
  );
  const offered = await ana.locator('#policy-panel input[name="action"]').evaluateAll((els) => els.map((e) => e.value));
  assert.ok(offered.includes('remove'), `offered actions: ${offered}`);

  await remove.check();
  await ana.check('input[name="verdict"][value="violating"]');
  await ana.fill('#rationale', 'E2E: classic advance-fee investment scam; legal confirmed.');
  await ana.fill('#explanation', 'Your photo promised guaranteed investment returns, which our fraud and scams policy does not allow.');
  await ana.getByRole('button', { name: 'Preview' }).click();
  const statement = ana.locator('#decision-preview pre.statement');
  await statement.waitFor();
  await expectText(statement, /DECISION_VISIBILITY_CONTENT_REMOVED/);
  await expectText(ana.locator('#decision-preview'), /Message to the author/);
  const message = ((await ana.locator('#decision-preview pre.message').textContent()) ?? '').trim();
  assert.ok(message.length > 0, 'the preview shows the message to the author');
  assert.equal(await ana.locator('#decision-preview .flash-error').count(), 0, 'the preview names no problem');
  await ana.locator('#decision-preview').scrollIntoViewIfNeeded();
  await screenshot(ana, 'decision-preview');

  await ana.getByRole('button', { name: 'Record decision' }).click();
  await ana.waitForURL(/[?&]done=decided/);
  await expectText(flash(ana), /^Decision recorded\.$/);
  await expectText(ana.locator('#case-status'), /^closed$/);
  assert.equal(await ana.locator('#decision-form').count(), 0, 'a closed case has no decision form');
  await expectText(ana.locator('section[aria-labelledby="decisions-h"]'), /community\.fraud_scams@1/);
  await screenshot(ana, 'case-closed');
  state.decided = true;
});

test('7. search finds the case by a word of its content', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'signedIn', 'caseId')) return;
  await ana.goto(`${BASE_URL}/search?q=zebrafinch`);
  await expectText(ana.locator('h1'), /^Search$/);
  await screenshot(ana, 'search');
  const link = ana.locator(`table.list a[href="/cases/${state.caseId}"]`);
  try {
    await link.first().waitFor({ timeout: 3_000 });
  } catch {
    assert.fail(
      `/search?q=zebrafinch has no results row linking to /cases/${state.caseId} ` +
        `(table.list rows: ${await ana.locator('table.list tbody tr').count()})`,
    );
  }
});

test('8. the policy book lists policies and shows what changed between versions', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'signedIn')) return;
  await ana.goto(`${BASE_URL}/policies`);
  await expectText(ana.locator('h1'), /^Policies$/);
  const rows = await ana.locator('table.list tbody tr').count();
  assert.ok(rows >= 10, `the demo policy book has many policies (rows: ${rows})`);
  assert.ok(
    (await ana.locator('table.list a[href^="/policies/community.hate_speech"]').count()) >= 1,
    'community.hate_speech is listed',
  );
  await screenshot(ana, 'policies');

  await ana.goto(`${BASE_URL}/policies/community.hate_speech?version=3`);
  await expectText(ana.locator('dl.facts'), /community\.hate_speech@3/);
  const heading = ana.getByRole('heading', { name: 'What changed from version 2' });
  await heading.waitFor();
  const diff = ana.locator('pre.diff');
  await diff.waitFor();
  assert.ok(
    (await diff.locator('span.diff-added, span.diff-removed').count()) > 0,
    'the diff marks added or removed lines',
  );
  await heading.scrollIntoViewIfNeeded();
  await screenshot(ana, 'policy-diff');
});

test('9. keyboard: j and c claim from the queue, ? opens the shortcuts, Esc closes them, / searches', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'signedIn')) return;
  // A waiting case in the first queue ("general"), so j + c has something to claim.
  const { status, json, text } = await api('POST', '/api/v1/reports', {
    subject: {
      kind: 'comment',
      external_id: 'e2e-comment-2',
      snapshot: { text: 'Buy cheap followers now', author_id: 'acct-e2e-2', language: 'en', country: 'IE' },
    },
    source: 'user',
    reporter: { id: 'reporter-e2e-2' },
    reason: 'spam',
    text: 'Spam in the comments',
    idempotency_key: 'e2e-2',
  });
  assert.equal(status, 201, `POST /api/v1/reports: ${text}`);

  await ana.goto(`${BASE_URL}/`);
  await expectText(ana.locator('h1'), /^Queues$/);
  await ana.keyboard.press('j');
  const selected = ana.locator('tr.js-row.is-selected');
  await selected.waitFor();
  const queue = await selected.getAttribute('data-queue');
  assert.equal(await selected.getAttribute('aria-current'), 'true', 'the selected row is marked for assistive technology');
  assert.equal(queue, json.queue, 'j selects the first queue, where the second report went');

  await ana.keyboard.press('c');
  await ana.waitForURL((url) => url.pathname.startsWith('/cases/') || url.searchParams.get('done') === 'nothing');
  if (new URL(ana.url()).pathname.startsWith('/cases/')) {
    assert.equal(new URL(ana.url()).pathname, `/cases/${json.case_id}`);
    await expectText(flash(ana), /^Case claimed/);
  } else {
    await expectText(flash(ana), /^Nothing is waiting in that queue\.$/);
  }

  // "?" opens the help, Esc closes it (on the page the claim led to).
  const dialogOpen = () => ana.evaluate(() => document.getElementById('shortcuts').open);
  assert.equal(await dialogOpen(), false);
  await ana.keyboard.press('?');
  await eventually(ana, () => document.getElementById('shortcuts').open, null, '? did not open #shortcuts');
  assert.ok(await ana.locator('#shortcuts').isVisible(), 'the shortcuts dialog is shown');
  await ana.keyboard.press('Escape');
  await eventually(ana, () => !document.getElementById('shortcuts').open, null, 'Esc did not close #shortcuts');

  // "/" focuses the search box, here and on another page.
  for (const path of [new URL(ana.url()).pathname, '/policies']) {
    if (path !== new URL(ana.url()).pathname) await ana.goto(`${BASE_URL}${path}`);
    await ana.keyboard.press('/');
    await eventually(
      ana,
      () => document.activeElement && document.activeElement.id === 'search-q',
      null,
      `/ did not focus #search-q on ${path}`,
    );
    assert.equal(await ana.inputValue('#search-q'), '', `"/" is not typed into the search box on ${path}`);
  }

  // My work: what ana holds now.
  await ana.goto(`${BASE_URL}/my`);
  await expectText(ana.locator('h1'), /^My work$/);
  await screenshot(ana, 'my-work');
  if (queue === json.queue) {
    assert.equal(await ana.locator(`table.list a[href="/cases/${json.case_id}"]`).count(), 1, 'the claimed case is in My work');
  }
});

test('10. a partner sees no queues, cannot claim, and may not open /admin', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!state.partnerSignedIn) await signIn(lee, 'lee.legal');
  await lee.goto(`${BASE_URL}/`);
  await lee.waitForURL(`${BASE_URL}/consultations`);
  const nav = lee.locator('nav[aria-label="Main"]');
  await nav.waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Queues' }).count(), 0, 'no Queues link in the nav');
  assert.equal(await nav.locator('a[href="/"]').count(), 0, 'no link to / in the nav');
  assert.equal(await lee.getByRole('button', { name: /Claim next/ }).count(), 0, 'no Claim next button');
  assert.equal(await lee.locator('[data-shortcut="claim-next"]').count(), 0);
  assert.ok((await nav.getByRole('link', { name: 'Consultations' }).count()) === 1, 'the Consultations link is there');

  const response = await lee.goto(`${BASE_URL}/admin`);
  assert.equal(response.status(), 403, `/admin for a partner: HTTP ${response.status()}`);
  assert.equal(await lee.locator('h1', { hasText: 'Admin' }).count(), 0, 'the admin page is not shown');

  if (state.caseId) {
    // Not a case of theirs to work: no claim or decision controls even if they open it.
    const caseResponse = await lee.goto(`${BASE_URL}/cases/${state.caseId}`);
    assert.ok(caseResponse.status() >= 400 || (await lee.locator('#decision-form').count()) === 0);
  }
});

test('10b. at 200% zoom (640 CSS px wide) the pages reflow without sideways scrolling', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!state.caseId) return t.skip('no case was opened');
  // 1280 px at 200% zoom leaves 640 CSS px; the same session, a narrower window.
  await ana.setViewportSize({ width: 640, height: 800 });
  try {
    for (const [path, name] of [['/', 'queues-200-percent'], [`/cases/${state.caseId}`, 'case-200-percent'], ['/search?q=zebrafinch', null], ['/dashboard?by=queue', 'dashboard-200-percent'], ['/alerts', null]]) {
      await ana.goto(`${BASE_URL}${path}`);
      await ana.locator('main h1').waitFor();
      const overflow = await ana.evaluate(() => {
        // Tables may scroll inside their own box; the page itself must not.
        return document.documentElement.scrollWidth - window.innerWidth;
      });
      assert.ok(overflow <= 1, `${path} overflows the window by ${overflow} px at 640 px wide`);
      if (name) await screenshot(ana, name);
    }
  } finally {
    await ana.setViewportSize(VIEWPORT);
  }
});

test('10c. the dashboard draws its charts, and an analyst plots a query result', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!state.caseId) return t.skip('no case was opened');
  // The specialist's dashboard counts the cases the earlier steps opened.
  await ana.goto(`${BASE_URL}/dashboard`);
  await ana.locator('main h1', { hasText: 'Dashboard' }).waitFor();
  const opened = Number(await ana.locator('[data-kpi="intake"]').textContent());
  assert.ok(opened >= 1, `cases opened on the dashboard: ${opened}`);
  await eventually(ana, () => document.querySelectorAll('[data-chart] canvas').length >= 2, null,
    'the dashboard charts were not drawn');
  await screenshot(ana, 'dashboard');

  // An analyst in a context of their own: run the default query, then plot it as bars.
  const context = await specialistContext.browser().newContext({ viewport: VIEWPORT });
  context.setDefaultTimeout(WAIT_TIMEOUT);
  await context.route((url) => url.origin !== BASE_URL, (route) => route.abort('blockedbyclient'));
  const ari = await context.newPage();
  ari.on('pageerror', (error) => pageErrors.push(`ari on ${ari.url()}: ${error.message}`));
  try {
    await signIn(ari, 'ari.analyst');
    await ari.goto(`${BASE_URL}/analytics`);
    await ari.getByRole('button', { name: 'Run' }).click();
    await ari.waitForLoadState('load');
    await ari.locator('#plot-kind').waitFor({ state: 'visible' });
    assert.equal(await ari.locator('[data-plot] canvas').count(), 0, 'no chart before one is asked for');
    await ari.selectOption('#plot-kind', 'bar');
    await ari.selectOption('#plot-x', 'queue');
    await eventually(ari, () => document.querySelectorAll('[data-plot] canvas').length === 1, null,
      'the query result was not plotted');
    await screenshot(ari, 'analytics-plot');
  } finally {
    await context.close();
  }
});

test('10d. a lead imports a hash into a bank; a copy is matched and judged from its case page', { timeout: STEP_TIMEOUT }, async (t) => {
  if (!needs(t, 'signedIn')) return;
  const created = await api('POST', '/api/v1/banks',
    { name: 'E2E propaganda', policy: 'community.dangerous_organisations' }, LEAD_TOKEN);
  assert.equal(created.status, 201, `POST /api/v1/banks: ${created.text}`);
  const bank = created.json.id;
  const banked = 'f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22';
  // Two bits away: the last hex digit 2 becomes 1.
  const copy = `${banked.slice(0, 63)}1`;

  const context = await specialistContext.browser().newContext({ viewport: VIEWPORT });
  context.setDefaultTimeout(WAIT_TIMEOUT);
  await context.route((url) => url.origin !== BASE_URL, (route) => route.abort('blockedbyclient'));
  const lena = await context.newPage();
  lena.on('pageerror', (error) => pageErrors.push(`lena on ${lena.url()}: ${error.message}`));
  try {
    await signIn(lena, 'lena.lead');
    await lena.goto(`${BASE_URL}/banks`);
    await lena.getByText('Import a hash list into E2E propaganda').click();
    await lena.fill(`#import-${bank}-hashes`, `${banked} 100 propaganda.jpg\n`);
    await lena.fill(`#import-${bank}-list`, 'e2e partner list');
    await lena.locator(`form[action="/banks/${bank}/import"]`).getByRole('button', { name: 'Import' }).click();
    await lena.waitForLoadState('load');
    await expectText(flash(lena), /1/);
    await screenshot(lena, 'banks');
  } finally {
    await context.close();
  }

  const reported = await api('POST', '/api/v1/reports', {
    subject: {
      kind: 'photo',
      external_id: 'e2e-photo-known',
      snapshot: { pdq_hashes: [copy], author_id: 'acct-e2e-2', country: 'FR', language: 'fr' },
    },
    source: 'user',
    reporter: { id: 'reporter-e2e-2' },
    reason: 'terrorism.propaganda',
    idempotency_key: 'e2e-known-1',
  });
  assert.equal(reported.status, 201, `POST /api/v1/reports: ${reported.text}`);
  const caseId = reported.json.case_id;
  const deadline = Date.now() + WAIT_TIMEOUT;
  let matches = [];
  while (Date.now() < deadline) {
    const found = await api('GET', `/api/v1/cases/${caseId}/matches`, undefined, LEAD_TOKEN);
    matches = found.json || [];
    if (matches.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(matches.length, 1, 'the copy was not matched against the bank');

  await ana.goto(`${BASE_URL}/cases/${caseId}`);
  const section = ana.locator('#known-media');
  await expectText(section.locator('h2'), /^Known media$/);
  await expectText(section, /E2E propaganda/);
  await section.getByRole('button', { name: /Different media/ }).click();
  await ana.waitForURL(new RegExp(`/cases/${caseId}(\\?|#|$)`));
  await expectText(ana.locator('#known-media [data-verdict]').first(), /false positive/i);
  await screenshot(ana, 'known-media');
  await ana.goto(`${BASE_URL}/banks`);
  await expectText(ana.locator(`tr[data-bank="${bank}"] [data-precision]`), /^0\s*%/);
});

test('11. the console scripts raised no uncaught error', { timeout: STEP_TIMEOUT }, () => {
  assert.deepEqual(pageErrors, []);
});
