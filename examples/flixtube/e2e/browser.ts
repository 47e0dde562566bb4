import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';

/** A short real video made by ffmpeg's test source (H.264 in MP4, moov first so the player can seek at once). */
export async function makeVideo(dir: string, name: string, pattern = 'testsrc'): Promise<string> {
  const file = join(dir, name);
  await promisify(execFile)('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `${pattern}=duration=6:size=320x240:rate=25`,
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    '-y',
    file,
  ]);
  return file;
}

export async function newPage(browser: Browser): Promise<Page> {
  // The fleet's certificates come from its own local CA.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.warn(`[browser] ${m.text()}`);
  });
  return page;
}

/**
 * Signs in through the auth server's form, and resolves once the page's batch of
 * permissions has been answered (so what it hides, it hides for good).
 */
export async function signIn(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(base);
  await page.getByTestId('sign-in').click();
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  const asked = page.waitForResponse((r) => r.url().endsWith('/api/permissions'), { timeout: 30_000 });
  await page.getByRole('button', { name: 'Sign in' }).click();
  // First sign-in of a client may ask for consent.
  const allow = page.getByRole('button', { name: 'Allow' });
  if (await allow.isVisible({ timeout: 1500 }).catch(() => false)) await allow.click();
  await page.getByTestId('user-name').filter({ hasText: user }).waitFor({ timeout: 15_000 });
  await asked;
}

export async function signOut(page: Page): Promise<void> {
  await page.getByTestId('sign-out').click();
  // oidc-provider asks to confirm an RP-initiated logout.
  const confirm = page.getByRole('button', { name: 'Sign out' });
  if (await confirm.isVisible({ timeout: 3000 }).catch(() => false)) await confirm.click();
  await page.getByTestId('sign-in').waitFor({ timeout: 15_000 });
}

/** Goes to a page through the app's own navigation (which loads it afresh). */
export async function openPage(page: Page, nav: string): Promise<void> {
  await page.getByTestId('nav-videos').click();
  await page.getByTestId(nav).click();
}

/**
 * Waits for something that arrives by a message (history, recommendations): opens the
 * page again until `text` is listed in `list`, for up to `timeoutMs`.
 */
export async function untilListed(
  page: Page,
  nav: string,
  list: string,
  text: string,
  timeoutMs = 45_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await openPage(page, nav);
    const found = page.getByTestId(list).getByText(text, { exact: true }).first();
    if (await found.isVisible({ timeout: 3000 }).catch(() => false)) return;
    if (Date.now() > until) throw new Error(`"${text}" was not listed in ${list} within ${timeoutMs} ms`);
  }
}

/** The bearer token the app sends: for a request the page itself would never make. */
export function bearerOf(page: Page): Promise<string> {
  return new Promise((resolve) => {
    const seen = (request: { url(): string; headers(): Record<string, string> }) => {
      const auth = request.headers().authorization;
      if (request.url().includes('/api/') && auth?.startsWith('Bearer ')) {
        page.off('request', seen);
        resolve(auth);
      }
    };
    page.on('request', seen);
  });
}

/** Plays the page's video (muted: no user gesture needed) until its clock moves. */
export async function playUntilItMoves(page: Page): Promise<number> {
  // The stream URL comes from the page's own stream-token call.
  const player = page.locator('[data-testid="player"][src]');
  await player.waitFor();
  await player.evaluate((el) => {
    const video = el as HTMLVideoElement;
    video.muted = true;
    void video.play().catch(() => undefined);
  });
  try {
    await page.waitForFunction(
      () => (document.querySelector<HTMLVideoElement>('[data-testid="player"]')?.currentTime ?? 0) > 0,
      undefined,
      { timeout: 45_000 },
    );
  } catch {
    const state = await player.evaluate((el) => {
      const v = el as HTMLVideoElement;
      return {
        readyState: v.readyState,
        networkState: v.networkState,
        paused: v.paused,
        error: v.error?.code,
      };
    });
    throw new Error(`the player did not play: ${JSON.stringify(state)}`);
  }
  return player.evaluate((el) => (el as HTMLVideoElement).currentTime);
}

/** Seeks to the middle and resolves with where the player is once it has the frame there. */
export async function seekToMiddle(page: Page): Promise<{ duration: number; at: number }> {
  return page.getByTestId('player').evaluate(
    (el) =>
      new Promise<{ duration: number; at: number }>((resolve, reject) => {
        const video = el as HTMLVideoElement;
        video.addEventListener('seeked', () => resolve({ duration: video.duration, at: video.currentTime }), {
          once: true,
        });
        video.addEventListener('error', () => reject(new Error(`player error ${video.error?.code}`)));
        video.currentTime = video.duration / 2;
      }),
  );
}

export const readBytes = (file: string) => readFile(file);
