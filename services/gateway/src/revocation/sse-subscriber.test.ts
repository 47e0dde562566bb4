import type { ServerResponse } from 'node:http';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../test/harness.js';
import type { RevocationEvent } from './events.js';
import { SseRevocationSubscriber } from './sse-subscriber.js';

let server: Awaited<ReturnType<typeof listen>>;
const clients: ServerResponse[] = [];
const lastIds: Array<string | undefined> = [];

beforeAll(async () => {
  server = await listen((req, res) => {
    lastIds.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\nretry: 50\n\n');
    clients.push(res);
  });
});
afterAll(() => server.close());

describe('SseRevocationSubscriber', () => {
  it('delivers events, skips malformed ones, and resumes with Last-Event-ID after a drop', async () => {
    const got: RevocationEvent[] = [];
    const sub = new SseRevocationSubscriber({ url: `${server.url}/v1/revocations/events`, reconnectMs: 50 });
    await sub.start((e) => got.push(e));
    expect(sub.connected).toBe(true);
    clients[0]!.write('id: 1\ndata: {"type":"token","jti":"a",\ndata: "at":1700000000}\n\n');
    clients[0]!.write('id: 2\ndata: {"type":"nonsense"}\n\n');
    clients[0]!.write('data: not json\n\n');
    await until(() => got.length === 1);
    expect(got[0]).toEqual({ type: 'token', jti: 'a', at: 1700000000 });
    clients[0]!.destroy();
    await until(() => clients.length === 2);
    expect(lastIds[1]).toBe('2');
    clients[1]!.write('data: {"type":"user","sub":"u","at":"2026-01-01T00:00:00Z"}\n\n');
    await until(() => got.length === 2);
    await sub.close();
    expect(sub.connected).toBe(false);
  });

  it('asks for its dispatcher at every connection (the mTLS agent is replaced on renewal)', async () => {
    const agents: Agent[] = [];
    const sub = new SseRevocationSubscriber({
      url: `${server.url}/v1/revocations/events`,
      reconnectMs: 50,
      dispatcher: () => {
        const agent = new Agent();
        agents.push(agent);
        return agent;
      },
    });
    const before = clients.length;
    await sub.start(() => undefined);
    expect(sub.connected).toBe(true);
    clients.at(-1)!.destroy();
    await until(() => clients.length === before + 2);
    expect(agents).toHaveLength(2);
    await sub.close();
    await Promise.all(agents.map((a) => a.destroy()));
  });
});

async function until(cond: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
