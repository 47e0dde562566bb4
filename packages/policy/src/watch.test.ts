import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { people, tempPolicyDir } from '../test/fixtures.js';
import { Authorizer, loadPolicies, watchPolicies } from './index.js';

const READ = 'permit(principal is User, action == Action::"video:Read", resource);\n';
const canRead = (engine: Authorizer) => engine.can('User::"bob"', 'video:Read', 'Video::"v1"', {}, people);

/** Waits for the watcher to act; the bound only keeps a broken watcher from hanging the run. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watchPolicies', () => {
  it('reloads on a change and keeps the old set when a change is invalid', async () => {
    const { dir, cleanup } = await tempPolicyDir({ 'app.cedar': '' });
    const engine = new Authorizer(await loadPolicies({ dir }));
    const errors: unknown[] = [];
    const reloads: number[] = [];
    const watcher = watchPolicies(dir, engine, {
      onError: (e) => errors.push(e),
      onReload: (v) => reloads.push(v),
    });
    try {
      expect(canRead(engine)).toBe(false);
      const before = engine.version;
      await writeFile(join(dir, 'app.cedar'), READ);
      await until(() => canRead(engine));
      // The watcher reloaded the engine (a new version, reported), and the new set decides.
      expect(engine.version).toBeGreaterThan(before);
      expect(reloads.at(-1)).toBe(engine.version);
      expect(errors).toEqual([]);

      const version = engine.version;
      await writeFile(join(dir, 'app.cedar'), 'permit(principal, action == Action::"nope", resource);');
      await until(() => errors.length > 0);
      expect(errors[0]).toMatchObject({ code: 'FLT_POLICY_INVALID' });
      expect(engine.version).toBe(version);
      expect(reloads.at(-1)).toBe(version);
      expect(canRead(engine)).toBe(true);

      // A new file appearing is a change too.
      await writeFile(join(dir, 'app.cedar'), READ);
      await writeFile(
        join(dir, 'deny.cedar'),
        'forbid(principal, action, resource) when { principal == User::"bob" };',
      );
      await until(() => !canRead(engine));
    } finally {
      watcher.close();
      await cleanup();
    }
  });
});
