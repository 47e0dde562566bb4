import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { people, tempPolicyDir } from '../test/fixtures.js';
import { Authorizer, loadPolicies, watchPolicies } from './index.js';

const READ = 'permit(principal is User, action == Action::"video:Read", resource);\n';
const canRead = (engine: Authorizer) => engine.can('User::"bob"', 'video:Read', 'Video::"v1"', {}, people);

async function until(check: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

describe('watchPolicies', () => {
  it('reloads within 2 s of a change and keeps the old set when a change is invalid', async () => {
    const { dir, cleanup } = await tempPolicyDir({ 'app.cedar': '' });
    const engine = new Authorizer(await loadPolicies({ dir }));
    const errors: unknown[] = [];
    const watcher = watchPolicies(dir, engine, { onError: (e) => errors.push(e) });
    try {
      expect(canRead(engine)).toBe(false);
      await writeFile(join(dir, 'app.cedar'), READ);
      const took = await until(() => canRead(engine), 2000);
      expect(took).toBeLessThan(2000);

      const version = engine.version;
      await writeFile(join(dir, 'app.cedar'), 'permit(principal, action == Action::"nope", resource);');
      await until(() => errors.length > 0, 2000);
      expect(errors[0]).toMatchObject({ code: 'POLICY_INVALID' });
      expect(engine.version).toBe(version);
      expect(canRead(engine)).toBe(true);

      // A new file appearing is a change too.
      await writeFile(join(dir, 'app.cedar'), READ);
      await writeFile(
        join(dir, 'deny.cedar'),
        'forbid(principal, action, resource) when { principal == User::"bob" };',
      );
      await until(() => !canRead(engine), 2000);
    } finally {
      watcher.close();
      await cleanup();
    }
  });
});
