import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/index.js';

const root = join(import.meta.dirname, '..', '..', '..');

const fleet = `version: 1
name: demo
auth:
  audience: demo-api
  clients: []
roles: [viewer]
gateway:
  routes: []
services:
  - name: streaming
    entry: a.ts
    bus: { send: [viewed], publish: [video-viewed] }
  - name: history
    entry: b.ts
    bus: { consume: [viewed], subscribe: [video-viewed] }
  - name: recommendations
    entry: c.ts
    bus: { subscribe: [video-viewed] }
`;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  try {
    return { code: await main(argv), out: out.join(''), err: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('flotilla bus queues | topics', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-bus-'));
    await mkdir(join(dir, 'policies'));
    await cp(join(root, 'policies', 'schema.cedarschema'), join(dir, 'policies', 'schema.cedarschema'));
    await writeFile(join(dir, 'flotilla.yaml'), fleet);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lists each queue with its senders and consumers', async () => {
    const { code, out } = await cli('bus', 'queues', '--file', join(dir, 'flotilla.yaml'));
    expect(code).toBe(0);
    expect(out.split('\n').map((l) => l.split(/\s{3,}/))).toEqual([
      ['QUEUE', 'SENDERS', 'CONSUMERS'],
      ['viewed', 'streaming', 'history'],
      [''],
    ]);
  });

  it('lists each topic with its publishers and subscribing services, as JSON too', async () => {
    const { code, out } = await cli('bus', 'topics', '--file', join(dir, 'flotilla.yaml'), '-o', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      { name: 'video-viewed', publish: ['streaming'], subscribe: ['history', 'recommendations'] },
    ]);
  });

  it('fails with the file:line of a bad declaration', async () => {
    await writeFile(join(dir, 'bad.yaml'), fleet.replace('consume: [viewed], ', ''));
    const { code, err } = await cli('bus', 'queues', '--file', join(dir, 'bad.yaml'));
    expect(code).toBe(1);
    expect(err).toMatch(/bad\.yaml:12: services\.0\.bus\.send\.0: no service consumes queue "viewed"/);
  });
});
