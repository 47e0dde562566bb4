import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Harness, startStorage } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startStorage();
});
afterAll(() => h?.close());

it('keeps keys as given: spaces, dots, percent signs and non-ASCII', async () => {
  const app = await h.clientAs('app');
  const keys = ['a b/é.txt', 'x/.hidden', '100%/sure?', 'dots.../v1.2'];
  for (const key of keys) await app.put('media', key, key);
  const listed = (await app.list('media')).objects.map((o) => o.key);
  expect(listed.sort()).toEqual([...keys].sort());
  for (const key of keys) expect(await (await app.get('media', key)).body.text()).toBe(key);
});
