import { access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { FlotillaError } from '@flotilla/errors';
import type { FleetService } from '../fleet/schema.js';

/** Services grouped so that each group depends only on earlier ones; a cycle is an error. */
export function startWaves(services: readonly FleetService[]): FleetService[][] {
  const waves: FleetService[][] = [];
  const placed = new Set<string>();
  let left = [...services];
  while (left.length > 0) {
    const wave = left.filter((s) => (s.dependsOn ?? []).every((d) => placed.has(d)));
    if (wave.length === 0)
      throw new FlotillaError(
        'FLT_FLEET_INVALID',
        `services depend on each other in a cycle: ${left.map((s) => s.name).join(', ')}`,
      );
    waves.push(wave);
    for (const s of wave) placed.add(s.name);
    left = left.filter((s) => !placed.has(s.name));
  }
  return waves;
}

/** Every fixed port is free (0 picks one, so it always is), before anything starts. */
export async function checkPorts(ports: Record<string, number>): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolvePort) => {
      const server = createServer();
      server.once('error', () => resolvePort(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
    });
    if (!free)
      throw new FlotillaError(
        'FLT_CONFLICT',
        `${name}: port ${port} is already in use (stop what uses it, or change the port in the fleet file)`,
      );
  }
}

/** Every service's `entry:` exists, relative to the fleet file. */
export async function checkEntries(root: string, services: readonly FleetService[]): Promise<void> {
  for (const s of services) {
    try {
      await access(resolve(root, s.entry));
    } catch {
      throw new FlotillaError('FLT_FLEET_INVALID', `${s.name}: entry point ${s.entry} does not exist`);
    }
  }
}
