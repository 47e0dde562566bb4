import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A RabbitMQ virtual host of a test's own; `url` is BUS_URL pointed at it. */
export interface RabbitVhost {
  name: string;
  url: string;
  /** Deletes the vhost and everything in it (queues, exchanges, messages). */
  delete(): Promise<void>;
}

async function rabbitmqctl(...args: string[]): Promise<void> {
  await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
}

/**
 * A fresh vhost on the RabbitMQ `busUrl` names (through `rabbitmqctl`, which must be on
 * the PATH), with full permissions for `busUrl`'s user, so a test's queues, exchanges and
 * leftovers never meet another test's or survive it: `delete()` removes them all.
 *
 * @example
 * const vhost = await rabbitVhost(process.env.BUS_URL!);
 * try { … BUS_URL: vhost.url … } finally { await vhost.delete(); }
 */
export async function rabbitVhost(busUrl: string, prefix = 'flotilla-test'): Promise<RabbitVhost> {
  const base = new URL(busUrl);
  const user = decodeURIComponent(base.username) || 'guest';
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  await rabbitmqctl('add_vhost', name);
  try {
    await rabbitmqctl('set_permissions', '-p', name, user, '.*', '.*', '.*');
  } catch (err) {
    await rabbitmqctl('delete_vhost', name).catch(() => undefined);
    throw err;
  }
  const url = new URL(busUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), delete: () => rabbitmqctl('delete_vhost', name) };
}
