import { readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEMO_VIDEOS } from '../src/index.js';

const WEBM_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

describe('the demo catalogue', () => {
  it('ships each clip, a WebM, with a unique fixed uuid and a title', async () => {
    const ids = new Set(DEMO_VIDEOS.map((v) => v.id));
    expect(ids.size).toBe(DEMO_VIDEOS.length);
    for (const video of DEMO_VIDEOS) {
      expect(video.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(video.title.trim()).not.toBe('');
      const head = (await readFile(video.file)).subarray(0, 4);
      expect(head.equals(WEBM_MAGIC)).toBe(true);
    }
  });

  it('stays small: under 2 MiB in all (the clips ship in git)', async () => {
    const sizes = await Promise.all(DEMO_VIDEOS.map(async (v) => (await stat(v.file)).size));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(2 * 1024 * 1024);
  });
});
