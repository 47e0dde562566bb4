import { resolve } from 'node:path';
import { adminFromHome } from '../up/admin-from-home.js';
import { listInstances } from '../up/control-admin.js';

/** `flotilla services`: what the registry knows, grouped by service. */
export async function run(argv: string[]): Promise<number> {
  const home = resolve(process.env.FLOTILLA_HOME ?? '.flotilla');
  const instances = await listInstances(await adminFromHome(home));
  if (argv.includes('--json')) {
    console.log(JSON.stringify({ instances }, null, 2));
    return 0;
  }
  const byService = new Map<string, typeof instances>();
  for (const i of instances) byService.set(i.service, [...(byService.get(i.service) ?? []), i]);
  for (const [service, list] of [...byService].sort(([a], [b]) => a.localeCompare(b))) {
    console.log(`${service}  (${list.length} instance${list.length === 1 ? '' : 's'})`);
    for (const i of list) {
      console.log(
        `  ${i.healthy ? 'healthy  ' : 'UNHEALTHY'}  ${i.address}:${i.port}  id ${i.id.slice(0, 8)}  heartbeat ${i.lastHeartbeatSecondsAgo} s ago${i.version ? `  v${i.version}` : ''}`,
      );
    }
  }
  if (instances.length === 0) console.log('no instances registered');
  return 0;
}
