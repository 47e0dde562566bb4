import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../test/harness.js';
import { Introspector } from './introspection.js';

let server: Awaited<ReturnType<typeof listen>>;
const calls: Array<{ auth: string | undefined; body: string }> = [];
const answers: Record<string, object> = {
  good: {
    active: true,
    sub: 'u1',
    client_id: 'web',
    scope: 'a b',
    exp: Math.floor(Date.now() / 1000) + 60,
    iat: 1,
    jti: 'j',
  },
  gone: { active: false },
  otheraud: { active: true, client_id: 'web', aud: 'https://other' },
};

beforeAll(async () => {
  server = await listen((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      calls.push({ auth: req.headers.authorization, body });
      const token = new URLSearchParams(body).get('token') ?? '';
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(answers[token] ?? { active: false }));
    });
  });
});
afterAll(() => server.close());

describe('Introspector (RFC 7662)', () => {
  const make = () =>
    new Introspector({
      url: `${server.url}/introspect`,
      clientId: 'gateway',
      clientSecret: 's:e cret',
      cacheMs: 30_000,
      cacheSize: 10,
      timeoutMs: 1000,
      audience: 'https://api',
    });

  it('authenticates with client credentials and caches the answer', async () => {
    const i = make();
    const before = calls.length;
    expect(await i.introspect('good')).toMatchObject({
      sub: 'u1',
      clientId: 'web',
      scopes: ['a', 'b'],
      via: 'introspection',
    });
    await i.introspect('good');
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)?.auth).toBe(`Basic ${Buffer.from('gateway:s%3Ae%20cret').toString('base64')}`);
    expect(calls.at(-1)?.body).toContain('token_type_hint=access_token');
  });

  it('refuses inactive tokens and another audience', async () => {
    await expect(make().introspect('gone')).rejects.toMatchObject({ status: 401 });
    await expect(make().introspect('otheraud')).rejects.toMatchObject({ status: 401 });
  });
});
