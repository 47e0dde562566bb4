import type { RegisteredInstance } from '@flotilla/kit/contracts';
import { type Handler, output } from '../cli/spec.js';
import { connectControl } from '../control-plane/connect.js';
import { printJson } from '../listing.js';

/** `flotilla services [-o json]`: what the registry knows, grouped by service. */
export const services: Handler = async (args) => {
  const admin = await connectControl(args);
  let instances: RegisteredInstance[];
  try {
    instances = await admin.instances();
  } finally {
    await admin.close();
  }
  if (output(args) === 'json') {
    printJson({ instances });
    return 0;
  }
  const byService = new Map<string, RegisteredInstance[]>();
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
};
