import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FleetError, loadFleet, parseFleet } from '../src/fleet/load-fleet.js';
import { Fleet } from '../src/fleet/schema.js';

const root = join(import.meta.dirname, '..', '..', '..');

const minimal = `version: 1
name: demo
auth:
  audience: demo-api
  clients: []
roles: [viewer]
gateway:
  routes:
    - { method: GET, path: /api/a, service: alpha, upstreamPath: /a }
services:
  - name: alpha
    entry: alpha.ts
`;

const problem = (text: string, schema?: string) => {
  try {
    parseFleet(text, 'fleet.yaml', schema);
  } catch (err) {
    if (err instanceof FleetError) return err.message;
    throw err;
  }
  throw new Error('the fleet file was accepted');
};

describe('the fleet file', () => {
  it('loads the repository flotilla.yaml', async () => {
    const fleet = await loadFleet(join(root, 'flotilla.yaml'));
    // Each FlixTube service adds itself; metadata, the catalogue, comes first.
    expect(fleet.services.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'metadata',
        'history',
        'video-upload',
        'video-streaming',
        'likes',
        'recommendations',
        'thumbnails',
      ]),
    );
    expect(fleet.services[0]?.name).toBe('metadata');
    expect(fleet.services[0]?.instances).toBe(1);
  });

  it('accepts a minimal file', () => {
    expect(parseFleet(minimal).name).toBe('demo');
  });

  it('names an unknown key with its path and line', () => {
    const text = minimal.replace('    entry: alpha.ts\n', '    entry: alpha.ts\n    replicas: 3\n');
    expect(problem(text)).toBe('fleet.yaml:13: services.0.replicas: unknown key');
  });

  it('names a bad value with its path and line', () => {
    const text = minimal.replace('  - name: alpha', '  - name: Alpha_1');
    expect(problem(text)).toBe('fleet.yaml:11: services.0.name: must match pattern "^[a-z][a-z0-9-]{0,62}$"');
  });

  it('declares what each service sends, consumes, publishes and subscribes to on the bus', () => {
    const text = minimal.replace(
      '    entry: alpha.ts\n',
      '    entry: alpha.ts\n    bus: { send: [jobs], consume: [jobs], publish: [viewed], subscribe: [viewed] }\n',
    );
    expect(parseFleet(text).services[0]?.bus).toEqual({
      send: ['jobs'],
      consume: ['jobs'],
      publish: ['viewed'],
      subscribe: ['viewed'],
    });
  });

  it.each([
    [
      'a queue nobody consumes',
      '{ send: [jobs] }',
      'fleet.yaml:13: services.0.bus.send.0: no service consumes queue "jobs"',
    ],
    [
      'a topic nobody publishes',
      '{ subscribe: [viewed] }',
      'fleet.yaml:13: services.0.bus.subscribe.0: no service publishes topic "viewed"',
    ],
    [
      'a name with a dot',
      '{ consume: [a.b] }',
      'fleet.yaml:13: services.0.bus.consume.0: must match pattern',
    ],
    ['an unknown verb', '{ receive: [jobs] }', 'fleet.yaml:13: services.0.bus.receive: unknown key'],
    [
      'a queue listed twice',
      '{ consume: [jobs, jobs] }',
      'fleet.yaml:13: services.0.bus.consume: must NOT have duplicate items',
    ],
  ])('refuses %s in a bus declaration, with its line', (_what, bus, message) => {
    expect(
      problem(minimal.replace('    entry: alpha.ts\n', `    entry: alpha.ts\n    bus: ${bus}\n`)),
    ).toContain(message);
  });

  it('declares KMS keys, and the keys each service uses', () => {
    const text = `${minimal}    keys: [storage, reports]\nkeys:\n  - { name: reports, rotationDays: 30 }\n`;
    const fleet = parseFleet(text);
    expect(fleet.keys).toEqual([{ name: 'reports', rotationDays: 30 }]);
    expect(fleet.services[0]?.keys).toEqual(['storage', 'reports']);
  });

  it('refuses a key a service uses but the fleet does not declare, with its line', () => {
    expect(problem(`${minimal}    keys: [reports]\n`)).toBe(
      'fleet.yaml:13: services.0.keys.0: unknown key "reports": declare it under keys:',
    );
    expect(problem(`${minimal}keys:\n  - { name: a }\n  - { name: a }\n`)).toMatch(
      /^fleet\.yaml:15: keys\.1\.name: key "a" is defined twice/,
    );
    expect(problem(`${minimal}keys:\n  - { name: a, rotationDays: 0 }\n`)).toMatch(
      /^fleet\.yaml:14: keys\.0\.rotationDays: must be >= 1/,
    );
  });

  it('names a missing key', () => {
    expect(problem(minimal.replace('    entry: alpha.ts\n', ''))).toBe(
      'fleet.yaml:11: services.0: missing required key "entry"',
    );
  });

  it('refuses references to unknown services, and duplicates', () => {
    expect(problem(minimal.replace('service: alpha, upstreamPath', 'service: beta, upstreamPath'))).toBe(
      'fleet.yaml:9: gateway.routes.0.service: unknown service "beta"',
    );
    expect(problem(`${minimal}  - name: alpha\n    entry: b.ts\n`)).toBe(
      'fleet.yaml:13: services.1.name: service "alpha" is defined twice',
    );
  });

  it('refuses the names of the platform for a service, operator included (it administers auth)', () => {
    for (const name of ['control', 'auth', 'gateway', 'kms', 'storage', 'broker', 'operator']) {
      const text = minimal.replaceAll('alpha', name);
      expect(problem(text)).toBe(`fleet.yaml:11: services.0.name: "${name}" is a platform service name`);
    }
  });

  it('refuses a route whose action the policy schema does not declare for Route, with its line', async () => {
    const schema = await readFile(join(root, 'policies', 'schema.cedarschema'), 'utf8');
    const withAction = (action: string) =>
      minimal.replace('upstreamPath: /a }', `upstreamPath: /a, action: '${action}' }`);
    expect(parseFleet(withAction('video:Read'), 'fleet.yaml', schema).gateway.routes[0]?.action).toBe(
      'video:Read',
    );
    expect(problem(withAction('video:Share'), schema)).toBe(
      'fleet.yaml:9: gateway.routes.0.action: action "video:Share" is not declared for Route in policies/schema.cedarschema',
    );
    // Declared, but for keys: no route is decided on it.
    expect(problem(withAction('kms:Decrypt'), schema)).toMatch(
      /^fleet\.yaml:9: gateway\.routes\.0\.action: /,
    );
    // A route without an action is decided on its method, which must be declared too.
    expect(problem(minimal.replace('method: GET', 'method: OPTIONS'), schema)).toBe(
      'fleet.yaml:9: gateway.routes.0.method: action "http:OPTIONS" is not declared for Route in policies/schema.cedarschema',
    );
    expect(
      problem(withAction('video:Read').replace('method: GET', 'method: GET, auth: public'), schema),
    ).toMatch(/^fleet\.yaml:9: gateway\.routes\.0\.action: a public route is never decided on/);
  });

  it('checks route actions against policies/ beside the fleet file, and needs it for routes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-fleet-'));
    try {
      const file = join(dir, 'flotilla.yaml');
      await writeFile(
        file,
        minimal.replace('upstreamPath: /a }', "upstreamPath: /a, action: 'video:Share' }"),
      );
      await expect(loadFleet(file)).rejects.toThrow(
        `${file}:9: gateway.routes.0: cannot read policies/schema.cedarschema (ENOENT): the route's action cannot be checked`,
      );
      await mkdir(join(dir, 'policies'));
      await writeFile(
        join(dir, 'policies', 'schema.cedarschema'),
        await readFile(join(root, 'policies', 'schema.cedarschema'), 'utf8'),
      );
      await expect(loadFleet(file)).rejects.toThrow(
        `${file}:9: gateway.routes.0.action: action "video:Share"`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('declares buckets; a service names the buckets it uses', () => {
    const text = `${minimal}    buckets: [videos]\nbuckets:\n  - { name: videos, maxObjectSize: 1000, contentTypes: [video/*], versioning: true }\n`;
    expect(parseFleet(text).buckets?.[0]).toMatchObject({ name: 'videos', versioning: true });
    expect(problem(text.replace('buckets: [videos]', 'buckets: [photos]'))).toBe(
      'fleet.yaml:13: services.0.buckets.0: unknown bucket "photos"',
    );
    expect(problem(`${text}  - { name: videos }\n`)).toBe(
      'fleet.yaml:16: buckets.1.name: bucket "videos" is defined twice',
    );
  });

  it("seals a bucket's objects under its own key, one the fleet declares", () => {
    const text = `${minimal}keys:\n  - { name: videos }\nbuckets:\n  - { name: videos, key: videos }\n  - { name: posters }\n`;
    expect(parseFleet(text).buckets).toEqual([{ name: 'videos', key: 'videos' }, { name: 'posters' }]);
    // `storage` always exists; any other key must be declared under keys:.
    expect(parseFleet(text.replace('key: videos', 'key: storage')).buckets?.[0]?.key).toBe('storage');
    expect(problem(text.replace('key: videos', 'key: photos'))).toBe(
      'fleet.yaml:16: buckets.0.key: unknown key "photos": declare it under keys:',
    );
  });

  it("names a bucket's missing policy file with its line", () => {
    const text = `${minimal}buckets:\n  - name: videos\n    policy: policies/videos.cedar\n`;
    try {
      parseFleet(text, 'fleet.yaml', undefined, tmpdir());
      throw new Error('the fleet file was accepted');
    } catch (err) {
      expect((err as Error).message).toBe(
        'fleet.yaml:15: buckets.0.policy: the policy file policies/videos.cedar does not exist',
      );
    }
  });

  it('reports YAML syntax errors with a line', () => {
    expect(problem('version: 1\nname: [unclosed\n')).toMatch(/^fleet\.yaml:\d+: /);
  });

  it('publishes its JSON schema in docs/fleet.schema.json, in step with the code', async () => {
    const published = JSON.parse(await readFile(join(root, 'docs', 'fleet.schema.json'), 'utf8')) as unknown;
    expect(published).toEqual(JSON.parse(JSON.stringify(Fleet)));
  });
});
