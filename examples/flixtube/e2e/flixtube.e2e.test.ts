import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bearerOf,
  makeVideo,
  newPage,
  openPage,
  playUntilItMoves,
  readBytes,
  seekToMiddle,
  signIn,
  signOut,
  untilListed,
} from './browser.js';
import { readPasswords } from './credentials.js';
import { type E2eFleet, startFleet } from './fleet.js';

/**
 * FlixTube in a real browser against a running fleet (`flotilla up`):
 *   FLOTILLA_E2E_URL=https://localhost:8443 npx vitest run --config examples/flixtube/e2e/vitest.config.ts
 * Settings: FLOTILLA_E2E_USERS (default .flotilla/secrets/users.json), CHROMIUM_PATH
 * (default /usr/bin/chromium). Needs ffmpeg to make its videos. Screenshots go to
 * test-artifacts/flixtube/.
 */
const external = process.env.FLOTILLA_E2E_URL;
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const repo = resolve(import.meta.dirname, '../../..');
const shots = join(repo, 'test-artifacts', 'flixtube');
const hasChromium = existsSync(chromiumPath);
const hasFfmpeg = (() => {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

if (!hasChromium)
  console.warn(`${chromiumPath} is missing: skipping the FlixTube browser test (apt-get install chromium)`);
if (!hasFfmpeg)
  console.warn('ffmpeg is missing: skipping the FlixTube browser test (apt-get install ffmpeg)');

describe.skipIf(!hasChromium || !hasFfmpeg)('FlixTube in a browser', () => {
  let browser: Browser;
  let passwords: Record<string, string>;
  let fleet: E2eFleet | undefined;
  let base: string;
  let work: string;
  let clip: string;
  let companionClip: string;
  const title = `E2E video ${Date.now()}`;
  // A second video alice also watches: what carol watches, to be recommended the first.
  const companion = `E2E companion ${Date.now()}`;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'flixtube-e2e-videos-'));
    [clip, companionClip] = await Promise.all([
      makeVideo(work, 'clip.mp4'),
      makeVideo(work, 'companion.mp4', 'smptebars'),
    ]);
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
    if (work) await rm(work, { recursive: true, force: true });
  }, 60_000);

  const login = async (user: string): Promise<Page> => {
    const page = await newPage(browser);
    await signIn(page, base, user, passwords[user] ?? '');
    return page;
  };

  /** Uploads through the upload page and resolves with the new video's id, once its page shows. */
  async function upload(page: Page, file: string, name: string): Promise<string> {
    await page.getByTestId('nav-upload').click();
    await page.getByTestId('upload-file').setInputFiles(file);
    await page.getByTestId('upload-title').fill(name);
    await page.getByTestId('upload-description').fill('Uploaded by the browser test');
    await page.getByTestId('upload-submit').click();
    return videoIdOnPage(page, name);
  }

  async function videoIdOnPage(page: Page, name: string): Promise<string> {
    await page.getByTestId('video-title').filter({ hasText: name }).waitFor({ timeout: 30_000 });
    const id = /#\/videos\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
    expect(id).toBeDefined();
    return id!;
  }

  async function openVideo(page: Page, name: string): Promise<void> {
    await openPage(page, 'nav-videos');
    await page.getByTestId('video-list').getByRole('link', { name, exact: true }).click();
    await page.getByTestId('video-title').filter({ hasText: name }).waitFor();
  }

  it('bob uploads a real video, sees the progress bar, and the poster appears', async () => {
    const page = await login('bob');
    // A text file named .mp4: the browser calls it video/mp4, video-upload sniffs it (415).
    await page.getByTestId('nav-upload').click();
    await page.getByTestId('upload-file').setInputFiles({
      name: 'not-a-video.mp4',
      mimeType: 'video/mp4',
      buffer: Buffer.from('this is not a video\n'.repeat(100)),
    });
    await page.getByTestId('upload-title').fill(`${title} (text)`);
    await page.getByTestId('upload-submit').click();
    const refused = page.getByTestId('upload-error');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(
      /^That file is not a video FlixTube accepts \(MP4 or WebM\): .+\.$/,
    );
    expect(await refused.getAttribute('role')).toBe('alert');
    await page.screenshot({ path: join(shots, '0-refused-type.png') });
    await openPage(page, 'nav-videos');

    // Slow the upload down (Chromium's own throttling) so that its progress can be seen.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 8 * 1024,
    });
    // An upload can be cancelled while it goes.
    await page.getByTestId('nav-upload').click();
    await page.getByTestId('upload-file').setInputFiles(clip);
    await page.getByTestId('upload-title').fill(`${title} (cancelled)`);
    await page.getByTestId('upload-submit').click();
    await page.getByTestId('upload-cancel').click();
    await page.getByTestId('upload-status').filter({ hasText: 'The upload was cancelled.' }).waitFor();
    expect(await page.getByTestId('upload-progress').count()).toBe(0);
    expect(await page.getByTestId('upload-submit').isEnabled()).toBe(true);

    await page.getByTestId('nav-upload').click();
    await page.getByTestId('upload-file').setInputFiles(clip);
    await page.getByTestId('upload-title').fill(title);
    await page.getByTestId('upload-description').fill('Uploaded by the browser test');
    await page.getByTestId('upload-submit').click();
    const progress = page.getByTestId('upload-progress');
    await progress.waitFor();
    const max = Number(await progress.getAttribute('max'));
    expect(max).toBe((await readBytes(clip)).length);
    await page.getByTestId('upload-cancel').waitFor();
    expect(await page.getByTestId('upload-status').getAttribute('aria-live')).toBe('polite');
    // The bar moves with the browser's upload progress events, before the upload is done.
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('[data-testid="upload-progress"]');
      return bar !== null && bar.value > 0 && bar.value < bar.max;
    });
    await page.screenshot({ path: join(shots, '1-uploading.png') });
    await videoIdOnPage(page, title);

    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });

    // The thumbnails worker makes the poster from the uploaded video; the page asks until it is there.
    await page.locator('[data-testid="player"][data-poster="ready"]').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('player').getAttribute('poster')).toMatch(/^blob:/);
    await page.screenshot({ path: join(shots, '2-poster.png') });
    // In the catalogue too, as a real image (a blob: URL the CSP allows), decoded.
    await openPage(page, 'nav-videos');
    const thumb = page
      .getByTestId('video-item')
      .filter({ has: page.getByRole('link', { name: title, exact: true }) })
      .getByTestId('poster');
    await thumb.waitFor();
    await expect
      .poll(() => thumb.evaluate((img) => (img as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);

    await upload(page, companionClip, companion);
    await signOut(page);
  }, 150_000);

  it('alice sees no upload link, and a direct upload by her is refused', async () => {
    const page = await newPage(browser);
    const bearer = bearerOf(page);
    await signIn(page, base, 'alice', passwords.alice ?? '');
    expect(await page.getByTestId('nav-upload').count()).toBe(0);
    await page.goto(`${base}/#/upload`);
    await page.getByTestId('upload-not-allowed').waitFor();
    const res = await page.request.post(`${base}/api/uploads?title=${encodeURIComponent('Not allowed')}`, {
      headers: { authorization: await bearer, 'content-type': 'video/mp4' },
      data: await readBytes(clip),
    });
    expect(res.status()).toBe(403);
    expect(res.headers()['content-type']).toMatch(/^application\/problem\+json/);
    await page.context().close();
  });

  it('alice plays it, seeks to the middle, likes it, and finds it in her history and favorites', async () => {
    const page = await newPage(browser);
    const bearer = bearerOf(page);
    await signIn(page, base, 'alice', passwords.alice ?? '');
    const streamed: number[] = [];
    page.on('response', (r) => {
      if (/\/api\/videos\/[^/]+\/stream\?/.test(r.url())) streamed.push(r.status());
    });
    await openVideo(page, title);
    await page.getByTestId('like').waitFor();
    // Not hers: metadata says she may neither edit nor delete it, so the page offers
    // neither; a direct delete is refused all the same.
    expect(await page.getByTestId('delete-video').count()).toBe(0);
    expect(await page.getByTestId('edit-video-open').count()).toBe(0);
    const videoId = /#\/videos\/([^/?]+)/.exec(page.url())?.[1] ?? '';
    const res = await page.request.delete(`${base}/api/videos/${videoId}`, {
      headers: { authorization: await bearer },
    });
    expect(res.status()).toBe(403);

    expect(await playUntilItMoves(page)).toBeGreaterThan(0);
    const { duration, at } = await seekToMiddle(page);
    expect(duration).toBeGreaterThan(5);
    expect(at).toBeGreaterThanOrEqual(duration / 2 - 0.5);
    expect(streamed).toContain(206);
    await page.screenshot({ path: join(shots, '3-playing.png') });

    await page.getByTestId('like').click();
    await page.locator('[data-testid="like"][aria-pressed="true"]').waitFor();
    await page.getByTestId('like-count').filter({ hasText: '1 like' }).waitFor();
    await page.getByTestId('favorite').click();
    await page.locator('[data-testid="favorite"][aria-pressed="true"]').waitFor();

    // The companion, so that carol, who watches it, is recommended the first.
    await openVideo(page, companion);
    await playUntilItMoves(page);

    await untilListed(page, 'nav-history', 'history-list', title);
    await page.screenshot({ path: join(shots, '4-history.png') });
    await openPage(page, 'nav-favorites');
    await page.getByTestId('favorites-list').getByText(title, { exact: true }).waitFor();

    await signOut(page);
    // Signed out at the auth server too: a reload does not sign in again silently.
    await page.reload();
    await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
  }, 180_000);

  it('carol watches the companion (the player renews its URL), and is recommended the video alice watched with it', async () => {
    const page = await login('carol');
    // The player's first stream request fails (as with an expired token): it asks for a
    // new stream URL and plays on.
    const urls: string[] = [];
    await page.route(/\/api\/videos\/[^/]+\/stream\?/, async (route) => {
      urls.push(route.request().url());
      await (urls.length === 1 ? route.abort('failed') : route.continue());
    });
    await openVideo(page, companion);
    await playUntilItMoves(page);
    expect(new Set(urls.map((u) => new URL(u).searchParams.get('token'))).size).toBe(2);
    await page.unroute(/\/api\/videos\/[^/]+\/stream\?/);
    await untilListed(page, 'nav-videos', 'recommendations', title);
    const item = page
      .getByTestId('recommendation')
      .filter({ has: page.getByRole('link', { name: title, exact: true }) });
    expect(await item.textContent()).toContain('Watched by people who watched what you did');
    await page.screenshot({ path: join(shots, '5-recommended.png') });
    await signOut(page);
  }, 150_000);

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
        'thumbnails',
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

  it('bob deletes them', async () => {
    const page = await login('bob');
    for (const name of [title, companion]) {
      await openVideo(page, name);
      await page.getByTestId('delete-video').click();
      await page.getByTestId('notice').filter({ hasText: 'was deleted' }).waitFor();
      await page.getByTestId('video-list').getByText(name, { exact: true }).waitFor({ state: 'detached' });
    }
    await page.screenshot({ path: join(shots, '6-deleted.png') });
    await signOut(page);
  });
});
