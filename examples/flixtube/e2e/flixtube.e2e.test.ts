import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPasswords } from './credentials.js';
import { type E2eFleet, startFleet } from './fleet.js';

/**
 * FlixTube in a real browser against a running fleet (`flotilla up`):
 *   FLOTILLA_E2E_URL=https://localhost:8443 npx vitest run --config examples/flixtube/e2e/vitest.config.ts
 * Settings: FLOTILLA_E2E_USERS (default .flotilla/secrets/users.json), CHROMIUM_PATH
 * (default /usr/bin/chromium). Screenshots go to test-artifacts/flixtube/.
 */
const external = process.env.FLOTILLA_E2E_URL;
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const repo = resolve(import.meta.dirname, '../../..');
const shots = join(repo, 'test-artifacts', 'flixtube');
const hasChromium = existsSync(chromiumPath);

if (!hasChromium)
  console.warn(`${chromiumPath} is missing: skipping the FlixTube browser test (apt-get install chromium)`);

describe.skipIf(!hasChromium)('FlixTube in a browser', () => {
  let browser: Browser;
  let passwords: Record<string, string>;
  let fleet: E2eFleet | undefined;
  let base: string;
  const title = `E2E video ${Date.now()}`;

  beforeAll(async () => {
    // Against a fleet already running (FLOTILLA_E2E_URL), or one started here with `flotilla up`.
    if (external) base = external;
    else {
      fleet = await startFleet(repo);
      base = fleet.url;
    }
    passwords = readPasswords(
      process.env.FLOTILLA_E2E_USERS ?? fleet?.usersFile ?? join(repo, '.flotilla/secrets/users.json'),
    );
    await mkdir(shots, { recursive: true });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.stop();
  }, 60_000);

  async function newPage(): Promise<Page> {
    // The fleet's certificates come from its own local CA.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') console.warn(`[browser] ${m.text()}`);
    });
    return page;
  }

  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(base);
    await page.getByTestId('sign-in').click();
    await page.getByLabel('Username').fill(user);
    await page.getByLabel('Password').fill(passwords[user] ?? '');
    await page.getByRole('button', { name: 'Sign in' }).click();
    // First sign-in of a client may ask for consent.
    const allow = page.getByRole('button', { name: 'Allow' });
    if (await allow.isVisible({ timeout: 1500 }).catch(() => false)) await allow.click();
    await page.getByTestId('user-name').filter({ hasText: user }).waitFor({ timeout: 15_000 });
  }

  async function signOut(page: Page): Promise<void> {
    await page.getByTestId('sign-out').click();
    // oidc-provider asks to confirm an RP-initiated logout.
    const confirm = page.getByRole('button', { name: 'Sign out' });
    if (await confirm.isVisible({ timeout: 3000 }).catch(() => false)) await confirm.click();
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
  }

  it('bob adds a video', async () => {
    const page = await newPage();
    await signIn(page, 'bob');
    await page.getByTestId('add-title').fill(title);
    await page.getByTestId('add-description').fill('Added by the browser test');
    await page.getByTestId('add-submit').click();
    await page.getByTestId('video-title').filter({ hasText: title }).waitFor();
    await signOut(page);
  });

  it('alice watches it, finds it in her history, and may not delete it', async () => {
    const page = await newPage();
    await signIn(page, 'alice');
    await page.getByTestId('video-list').getByText(title).waitFor();
    await page.screenshot({ path: join(shots, '1-list.png') });
    await page.getByRole('link', { name: title }).click();
    await page.getByTestId('video-title').filter({ hasText: title }).waitFor();

    await page.getByTestId('delete-video').click();
    const refusal = page.getByTestId('delete-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toBe('You may not delete this video.');
    expect(await refusal.getAttribute('role')).toBe('alert');
    await page.screenshot({ path: join(shots, '2-delete-refused.png') });

    await page.getByTestId('nav-history').click();
    await page.getByTestId('history-list').getByText(title).first().waitFor();
    await page.screenshot({ path: join(shots, '3-history.png') });

    await signOut(page);
    // Signed out at the auth server too: a reload does not sign in again silently.
    await page.reload();
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
  });

  it.skipIf(external)(
    'flotilla status reports every process ready, with its identity and memory',
    async () => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [join(repo, 'packages/cli/bin/flotilla.js'), 'status', '--json'],
        { cwd: repo, env: { ...process.env, FLOTILLA_HOME: fleet!.home } },
      );
      const status = JSON.parse(stdout) as {
        supervisor: { memoryMB: number; pssMB: number };
        services: Array<{ name: string; ready: boolean; spiffeId: string; memoryMB: number; pssMB: number }>;
      };
      expect(status.services.map((s) => s.name).sort()).toEqual([
        'auth',
        'broker',
        'gateway',
        'history',
        'kms',
        'likes',
        'metadata',
        'recommendations',
        'storage',
        'video-streaming',
        'video-upload',
      ]);
      for (const s of status.services) {
        expect(s.ready, s.name).toBe(true);
        expect(s.spiffeId).toBe(`spiffe://flotilla.local/svc/${s.name}`);
        expect(s.pssMB).toBeGreaterThan(0);
        expect(s.pssMB).toBeLessThanOrEqual(s.memoryMB);
      }
      expect(status.supervisor.memoryMB).toBeGreaterThan(0);
    },
  );

  it('bob deletes it', async () => {
    const page = await newPage();
    await signIn(page, 'bob');
    await page.getByRole('link', { name: title }).click();
    await page.getByTestId('delete-video').click();
    await page.getByTestId('notice').filter({ hasText: 'was deleted' }).waitFor();
    await page.getByTestId('video-list').getByText(title).waitFor({ state: 'detached' });
    await page.screenshot({ path: join(shots, '4-deleted.png') });
    await signOut(page);
  });
});
