import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevocationEvent } from './event.js';
import { SseRevocationSubscriber } from './sse-subscriber.js';

let url: string;
let close: () => Promise<void>;
const clients: ServerResponse[] = [];
const lastIds: Array<string | undefined> = [];

beforeAll(async () => {
  const server = createServer((req: IncomingMessage, res) => {
    lastIds.push(req.headers['last-event-id'] as string | undefined);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\nretry: 50\n\n');
    clients.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/revocations/events`;
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
});
afterAll(() => close());

describe('SseRevocationSubscriber', () => {
  it('joins multi-line data, skips malformed events, and resumes with Last-Event-ID after a drop', async () => {
    const got: RevocationEvent[] = [];
    const sub = new SseRevocationSubscriber({ url, reconnectMs: 50 });
    await sub.start((e) => got.push(e));
    expect(sub.connected).toBe(true);
    // HTML §9.2.6: each `data:` line appends its value and a LF; the JSON spans two lines.
    clients[0]!.write('id: 1\ndata: {"type":"token","jti":"a",\ndata: "at":1700000000}\n\n');
    clients[0]!.write('id: 2\ndata: {"type":"nonsense"}\n\n');
    clients[0]!.write('data: not json\n\n');
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toEqual({ type: 'token', jti: 'a', at: 1700000000 });
    clients[0]!.destroy();
    await expect.poll(() => clients.length).toBe(2);
    expect(lastIds[1]).toBe('2');
    clients[1]!.write('data: {"type":"user","sub":"u","at":1767225600}\n\n');
    await expect.poll(() => got.length).toBe(2);
    await sub.close();
    expect(sub.connected).toBe(false);
  });

  it('keeps the id of a data-less connected event for its next connection', async () => {
    const sub = new SseRevocationSubscriber({ url, reconnectMs: 50 });
    const before = clients.length;
    await sub.start(() => undefined);
    clients.at(-1)!.write('event: connected\nid: 41\ndata:\n\n');
    // A second event proves the first was read before the drop.
    clients.at(-1)!.write('event: connected\nid: 42\ndata:\n\n');
    await new Promise((r) => setTimeout(r, 50));
    clients.at(-1)!.destroy();
    await expect.poll(() => clients.length).toBe(before + 2);
    expect(lastIds.at(-1)).toBe('42');
    await sub.close();
  });

  it('asks for its dispatcher at every connection (the mTLS agent is replaced on renewal)', async () => {
    const agents: Agent[] = [];
    const sub = new SseRevocationSubscriber({
      url,
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
    await expect.poll(() => clients.length).toBe(before + 2);
    expect(agents).toHaveLength(2);
    await sub.close();
    await Promise.all(agents.map((a) => a.destroy()));
  });

  it('drops a connection whose event grows past 1 MiB, and reconnects', async () => {
    const sub = new SseRevocationSubscriber({ url, reconnectMs: 50 });
    const before = clients.length;
    await sub.start(() => undefined);
    clients.at(-1)!.write(`data: ${'x'.repeat(1024 * 1024 + 10)}`);
    await expect.poll(() => clients.length).toBe(before + 2);
    await sub.close();
  });
});
