import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type BusPermissions,
  busPasswordFile,
  busPermissions,
  busTopology,
  consumerQueueArguments,
  DEAD_QUEUE_ARGUMENTS,
  serviceSpiffeId,
} from '@flotilla/kit';
import { FlotillaError } from '@flotilla/errors';
import { bool, type Handler, output, str } from '../cli/spec.js';
import { loadFleet } from '../fleet/load-fleet.js';
import type { Fleet } from '../fleet/schema.js';
import { fleetHome } from '../home.js';
import { printJson, printTable } from '../listing.js';

/** One service's RabbitMQ user: named by its SPIFFE ID, with permissions on exactly its own names. */
interface BusUser {
  service: string;
  user: string;
  permissions: BusPermissions;
}

export function busUsers(fleet: Fleet): BusUser[] {
  const trustDomain = fleet.trustDomain ?? 'flotilla.local';
  return fleet.services
    .filter((s) => s.bus !== undefined)
    .map((s) => ({
      service: s.name,
      user: serviceSpiffeId(trustDomain, s.name),
      permissions: busPermissions(s.name, s.bus!),
    }));
}

/** `--vhost`, else BUS_URL's path (`amqp://host/flix` → `flix`), else RabbitMQ's default `/`. */
export function busVhost(flag: string | undefined, url = process.env.BUS_URL): string {
  if (flag) return flag;
  const path = url ? new URL(url).pathname.slice(1) : '';
  return path ? decodeURIComponent(path) : '/';
}

/**
 * RabbitMQ definitions (the format of `rabbitmqctl import_definitions`): the vhost, a user per
 * service with its permissions, and the fleet's queues, exchanges and bindings, declared here
 * so that a sender or publisher never needs to configure (and so could never delete) them.
 * A user without a password (`passwords` undefined: --tls) can only log in with EXTERNAL.
 */
export function busDefinitions(
  fleet: Fleet,
  vhost: string,
  passwords: Map<string, string> | undefined,
): Record<string, unknown> {
  const users = busUsers(fleet);
  const topology = busTopology(fleet.services);
  const queue = (name: string, args: Record<string, string>) => ({
    name,
    vhost,
    durable: true,
    auto_delete: false,
    arguments: args,
  });
  return {
    vhosts: [{ name: vhost }],
    users: users.map((u) => ({
      name: u.user,
      ...(passwords ? { password: passwords.get(u.service) } : { password_hash: '' }),
      tags: [],
    })),
    permissions: users.map((u) => ({ user: u.user, vhost, ...u.permissions })),
    queues: topology.queues.flatMap((name) => [
      queue(`${name}.dead`, { ...DEAD_QUEUE_ARGUMENTS }),
      queue(name, consumerQueueArguments(name)),
    ]),
    exchanges: topology.exchanges.map((name) => ({
      name,
      vhost,
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    })),
    bindings: topology.bindings.map((b) => ({
      source: b.exchange,
      vhost,
      destination: b.queue,
      destination_type: 'queue',
      routing_key: '#',
      arguments: {},
    })),
  };
}

/**
 * `flotilla bus provision`: a RabbitMQ user per service that uses the bus, and the fleet's
 * topology, imported with `rabbitmqctl import_definitions` on standard input (no secret on
 * a command line). Passwords are random, written to `<home>/secrets/bus/<service>` (0600)
 * after the broker took them, and never printed.
 */
export const provision: Handler = async (args) => {
  const fleet = await loadFleet(resolve(str(args, 'file') ?? 'flotilla.yaml'));
  const vhost = busVhost(str(args, 'vhost'));
  const users = busUsers(fleet);
  const tls = bool(args, 'tls');
  if (users.length === 0) {
    console.log('no service declares bus use (services[].bus): nothing to provision');
    return 0;
  }
  if (bool(args, 'dry-run')) {
    if (output(args) === 'json') printJson({ vhost, users });
    else
      printTable(
        ['SERVICE', 'USER', 'CONFIGURE', 'WRITE', 'READ'],
        users.map((u) => [
          u.service,
          u.user,
          u.permissions.configure,
          u.permissions.write,
          u.permissions.read,
        ]),
      );
    return 0;
  }
  const passwords = tls
    ? undefined
    : new Map(users.map((u) => [u.service, randomBytes(24).toString('base64url')]));
  const json = `${JSON.stringify(busDefinitions(fleet, vhost, passwords), null, 2)}\n`;
  const out = str(args, 'definitions');
  if (out) {
    await writeFile(resolve(out), json, { mode: 0o600 });
    await chmod(resolve(out), 0o600); // an existing file keeps its mode on write
  } else await importDefinitions(json, vhost, users);
  const home = fleetHome(args);
  for (const [service, password] of passwords ?? [])
    await writePassword(busPasswordFile(home, service), password);
  const how = tls ? 'EXTERNAL login (no password)' : `passwords in ${busPasswordFile(home, '<service>')}`;
  const where = out ? `definitions written to ${out}` : `imported into vhost ${vhost}`;
  console.log(`${users.length} RabbitMQ user(s), ${how}; ${where}`);
  return 0;
};

async function writePassword(file: string, password: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
}

/**
 * `rabbitmqctl import_definitions` reading standard input (FLOTILLA_RABBITMQCTL names another
 * binary). RabbitMQ imports asynchronously, so this then waits until every user has its
 * permissions in the vhost, which also checks that the import did what it was asked.
 */
async function importDefinitions(json: string, vhost: string, users: BusUser[]): Promise<void> {
  await rabbitmqctl(['import_definitions', '--format', 'json'], json);
  const want = new Map(users.map((u) => [u.user, u.permissions]));
  for (let attempt = 0; attempt < 30; attempt++) {
    const listed = JSON.parse(await rabbitmqctl(['list_permissions', '-p', vhost, '--formatter', 'json'])) as
      ({ user: string } & BusPermissions)[] | undefined;
    const done = [...want].every(([user, p]) =>
      listed?.some(
        (l) => l.user === user && l.configure === p.configure && l.write === p.write && l.read === p.read,
      ),
    );
    if (done) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new FlotillaError(
    'FLT_BUS_UNAVAILABLE',
    `rabbitmqctl import_definitions: the users did not appear in vhost ${vhost}`,
  );
}

/** Runs rabbitmqctl (`-n $RABBITMQ_NODENAME` when set); its standard output, or one readable error. */
async function rabbitmqctl(argv: string[], input?: string): Promise<string> {
  const bin = process.env.FLOTILLA_RABBITMQCTL ?? 'rabbitmqctl';
  const node = process.env.RABBITMQ_NODENAME;
  const full = [...(node ? ['-n', node] : []), ...argv];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (done, fail) => {
      const child = spawn(bin, full, { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
      child.stdin.on('error', () => undefined); // a child that died early: its exit code says why
      child.stdin.end(input ?? '');
    },
  ).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new FlotillaError(
        'FLT_BUS_UNAVAILABLE',
        `${bin} not found: install RabbitMQ's CLI, or write --definitions FILE and import it yourself`,
      );
    throw err;
  });
  if (code !== 0) {
    const lines = `${stderr}\n${stdout}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const reason =
      lines.find((l) => /error|refused|unable|failed/i.test(l)) ?? lines.at(-1) ?? `exit code ${code}`;
    throw new FlotillaError(
      'FLT_BUS_UNAVAILABLE',
      `${bin} ${argv[0]} failed: ${reason.replace(/^Error:\s*/, '')}`,
    );
  }
  return stdout;
}
