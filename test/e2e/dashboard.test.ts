// The dashboard in a real browser (Debian's Chromium, driven by
// playwright-core) against a running two-region mesh with demo traffic:
// every region shows, flows appear with their verdicts, a denied flow shows
// the DENY rule behind it, the service map draws the eu → us routes, and a
// partition between eu and us turns the link red within seconds. The page
// loads nothing from anywhere but its controller. Screenshots go to
// test-artifacts/ (or $ENTENTE_TEST_ARTIFACTS).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Lab } from '../../src/lab/lab.js';
import { eventually } from '../../src/core/eventually.js';
import { exitWatchdog, randomIpPrefix, startTestMesh } from './lab-harness.js';

exitWatchdog();

const ARTIFACTS = resolve(process.env.ENTENTE_TEST_ARTIFACTS ?? 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Generous: the page polls every 2 s and the gateways probe every 250 ms, but the machine may be busy.
const WAIT_MS = 90_000;

let lab: Lab;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

// Where the time went, printed as it goes: a file that overruns the runner's timeout on a loaded machine says which phase.
const phaseStart = Date.now();
const phase = (what: string): void => void process.stdout.write(`# dashboard: ${what} at ${((Date.now() - phaseStart) / 1000).toFixed(1)} s\n`);

before(async () => {
  lab = await startTestMesh(['eu', 'us'], randomIpPrefix(211, 214), { traffic: true });
  phase('mesh up');
  // As root (CI) Chromium needs --no-sandbox; the page is our own, on loopback.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  phase('browser up');
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const origin = new URL(lab.adminUrl('eu')).origin;
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  mkdirSync(ARTIFACTS, { recursive: true });
});
after(async () => {
  phase('tests done');
  // Bounded: a browser that does not close must not keep the lab's processes running; Playwright kills it on exit.
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 30_000).unref())]).catch(() => undefined);
  phase('browser closed');
  await lab?.stop();
  phase('lab stopped');
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });

test('regions, links, flows with verdicts and the rule behind a denial, the service map', { timeout: 240_000 }, async () => {
  await page.goto(`${lab.adminUrl('eu')}/dashboard/`);
  await page.locator('[data-testid="region-eu"]').waitFor({ timeout: WAIT_MS });
  await page.locator('[data-testid="region-us"]').waitFor({ timeout: WAIT_MS });
  await page.locator('[data-testid="link-us"][data-state="up"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  assert.match((await page.locator('[data-testid="this-region"]').textContent()) ?? '', /region eu/);

  // Live flows arrive, from both regions' agents.
  await eventually(async () => ((await page.locator('[data-testid="flow-row"]').count()) >= 10 ? true : undefined), { what: '10 flow rows', timeoutMs: WAIT_MS, intervalMs: 500 });
  const seenBy = await page.locator('[data-testid="flow-row"] td:last-child').allTextContents();
  assert.ok(seenBy.some((t) => t.startsWith('eu-node')) && seenBy.some((t) => t.startsWith('us-node')), seenBy.slice(0, 20).join('\n'));

  // Filter on deny: every row is a denial, and ledger -> catalog shows the DENY rule that refused it.
  await page.locator('[data-testid="flow-filters"] select[name="verdict"]').selectOption('deny');
  await eventually(
    async () => {
      const rows = page.locator('[data-testid="flow-row"]');
      const verdicts = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-verdict')));
      const rules = await page.locator('[data-testid="flow-row"] [data-testid="flow-rule"]').allTextContents();
      return verdicts.length > 0 && verdicts.every((v) => v === 'deny') && rules.includes('shop/catalog-deny-ledger#0') ? true : undefined;
    },
    { what: 'only denied flows, one refused by shop/catalog-deny-ledger rule 0', timeoutMs: WAIT_MS, intervalMs: 500 },
  );

  // The service map draws frontend (eu) -> catalog (us) within its SLO, and ledger -> catalog as denied.
  await page.locator('[data-testid="map-edge"][data-edge="shop/frontend@eu->shop/catalog@us"][data-class="ok"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  await page.locator('[data-testid="map-edge"][data-edge="shop/ledger@eu->shop/catalog@us"][data-class="denied"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  await page.locator('[data-testid="slo-row"][data-route="shop/frontend->shop/catalog"][data-met="yes"]').waitFor({ timeout: WAIT_MS });
  // Drift and expiry are shown.
  assert.equal(await page.locator('[data-testid="drift"]').getAttribute('data-drift'), 'no');
  assert.ok((await page.locator('[data-testid="expiry-row"]').count()) >= 3, 'the CA, the serving certificate and the bundle of us');
  await shot('dashboard-healthy.png');
  assert.deepEqual(foreignRequests, [], 'the page loads everything from its controller');
  assert.deepEqual(pageErrors, []);
});

test('a partition between eu and us turns the link red within seconds', { timeout: 240_000 }, async () => {
  const cutAt = Date.now();
  lab.cut('eu', 'us');
  lab.cut('us', 'eu');
  try {
    const link = page.locator('[data-testid="link-us"][data-state="partitioned"]');
    await link.waitFor({ state: 'attached', timeout: WAIT_MS });
    const seconds = (Date.now() - cutAt) / 1000;
    process.stdout.write(`# the dashboard showed eu-us partitioned ${seconds.toFixed(1)} s after the cut\n`);
    // Runs in the page, where globalThis is the window (this file is type-checked without the DOM).
    const stroke = await link.locator('line').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { stroke: string } }).getComputedStyle(el).stroke);
    assert.equal(stroke, 'rgb(248, 81, 73)', `partitioned is drawn red, got ${String(stroke)}`);
    assert.match((await page.locator('[data-testid="peer-row-us"]').textContent()) ?? '', /partitioned/);
    await shot('dashboard-partitioned.png');
  } finally {
    lab.heal('eu', 'us');
    lab.heal('us', 'eu');
  }
  // And it heals: the link comes back up.
  await page.locator('[data-testid="link-us"][data-state="up"]').waitFor({ state: 'attached', timeout: WAIT_MS });
  assert.deepEqual(pageErrors, []);
});
