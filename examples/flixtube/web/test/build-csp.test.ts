import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built app must run under the gateway's CSP (services/gateway/src/edge/web-app.ts):
 * `script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self'`: nothing
 * inline, no `data:` URLs.
 */
describe('the production build', () => {
  let out: string;
  let html: string;
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'flixtube-web-'));
    const root = resolve(import.meta.dirname, '..');
    await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'silent',
      build: { outDir: out },
    });
    html = await readFile(join(out, 'index.html'), 'utf8');
  }, 60_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('has no inline script or style, and no style attributes', async () => {
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/\ssrc="\/assets\//);
      expect(m[2]?.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle=/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const assets = await readdir(join(out, 'assets'));
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const name of assets.filter((a) => a.endsWith('.css'))) {
      // img-src has no data: (assets are files of our own origin, posters blob: URLs).
      expect(await readFile(join(out, 'assets', name), 'utf8')).not.toMatch(/url\(\s*["']?data:/);
    }
    for (const name of assets.filter((a) => a.endsWith('.js'))) {
      const js = await readFile(join(out, 'assets', name), 'utf8');
      // No runtime code evaluation either (CSP without 'unsafe-eval').
      expect(js).not.toMatch(/\bnew Function\(|\beval\(/);
      expect(js).not.toMatch(/localStorage/);
      expect(js).not.toMatch(/["'`]data:(image|video)\//);
    }
  });
});
