// /docs, the page users open first, in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core; installed by .ci/run). It must render, list every route of the OpenAPI document, and
// "Try it out" with a bearer token must list the caller's files. Chromium is launched so that it never
// reaches the network: only the service on 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfTool } from '../support/require-tool';
import { type Backend, type RunningApp, startApp, startBackend, type Uploaded, upload } from './support';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describeIfTool(CHROMIUM, 'chromium', '/docs in a real browser', () => {
  let backend: Backend;
  let svc: RunningApp;
  let profile: string;
  let browser: BrowserContext;
  let files: Uploaded[];

  beforeAll(async () => {
    backend = await startBackend('disk');
    svc = await startApp(backend);
    files = [await upload(svc, 'alice', 'first.txt', 'one'), await upload(svc, 'alice', 'second.txt', 'two')];
    await upload(svc, 'bob', 'not-alice.txt', 'three');
    profile = await mkdtemp(path.join(os.tmpdir(), 'ferry-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await backend?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('renders, lists every route, and "Try it out" with a bearer token lists my files', async () => {
    const page = await browser.newPage();
    const offsite: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(svc.base) && !r.url().startsWith('data:')) offsite.push(r.url());
    });
    await page.goto(`${svc.base}/docs`);
    await expect
      .poll(() => page.locator('.swagger-ui .info .title').textContent())
      .toContain('Ferry storage service');

    // Every operation of the OpenAPI document has its block on the page.
    const doc = (await (await fetch(`${svc.base}/docs/json`)).json()) as { paths: Record<string, object> };
    const expected = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    await page.locator('.opblock').first().waitFor();
    const shown = await page.$$eval('.opblock', (blocks) =>
      blocks.map(
        (b) =>
          `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b
            .querySelector('.opblock-summary-path')
            ?.getAttribute('data-path')}`,
      ),
    );
    expect([...new Set(shown)].sort()).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining(['GET /v1/files', 'POST /v1/files', 'GET /v1/usage']));

    // Authorize with a bearer token, then Try it out → Execute on GET /v1/files.
    await page.locator('.auth-wrapper .authorize').click();
    await page
      .locator('.modal-ux input')
      .first()
      .fill(await svc.token('alice'));
    await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click();
    await page.locator('.modal-ux .btn-done, .modal-ux button.close-modal').first().click();
    const block = page.locator('.opblock-get', { has: page.locator('[data-path="/v1/files"]') });
    await block.locator('.opblock-summary').first().click();
    await block.locator('.try-out__btn').click();
    await block.locator('.execute').click();
    const body = block.locator('.live-responses-table .response-col_description pre').first();
    await expect.poll(() => body.textContent(), { timeout: 20_000 }).toContain(files[0]!.id);
    const text = (await body.textContent()) ?? '';
    const listed = JSON.parse(text) as { items: { id: string }[] };
    expect(listed.items.map((i) => i.id)).toEqual([files[1]!.id, files[0]!.id]);
    expect(
      await block.locator('.live-responses-table .response .response-col_status').first().textContent(),
    ).toContain('200');
    expect(offsite).toEqual([]);
  });
});
