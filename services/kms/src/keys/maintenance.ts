import type { UsageLog } from '../usage/usage-log.js';
import type { KeyStore } from './key-store.js';

const DAY_MS = 86_400_000;
/** The KMS's own timer, as usage records name it. */
const SYSTEM = 'kms';

/**
 * The timer's work at `now`: automatic rotation of keys whose `rotationDays` have passed
 * since their last rotation (or creation), and destruction of keys whose deletion waiting
 * period has ended. Each is recorded as a use by the KMS itself. Safe with several
 * instances: a rotation is conditional on being due, a deletion on the key still pending.
 */
export async function maintainKeys(
  store: KeyStore,
  usage: UsageLog,
  now: Date,
): Promise<{ rotated: string[]; destroyed: string[] }> {
  const rotated: string[] = [];
  const destroyed: string[] = [];
  const record = (key: string, keyVersion: number | null, operation: string) =>
    usage.record({ caller: SYSTEM, key, keyVersion, operation, context: {}, outcome: 'success' });
  for (const key of await store.list()) {
    if (key.state === 'pending-deletion' && key.deletionDate && new Date(key.deletionDate) <= now) {
      if (!(await store.destroy(key.name))) continue; // cancelled meanwhile
      destroyed.push(key.name);
      await record(key.name, null, 'DestroyKey');
    } else if (key.state === 'enabled' && key.rotationDays !== null) {
      const due = new Date(now.getTime() - key.rotationDays * DAY_MS);
      const done = await store.rotate(key.name, now, due);
      if (done) {
        rotated.push(key.name);
        await record(key.name, done.currentVersion, 'AutoRotateKey');
      }
    }
  }
  return { rotated, destroyed };
}
