import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TlsMaterial } from '../identity/index.js';
import { amqpLogin, busPasswordFile } from './amqp-login.js';

const identity = 'spiffe://flotilla.local/svc/history';
const tls = (): TlsMaterial => ({
  key: 'KEY',
  cert: 'CERT',
  ca: 'CA',
  spiffeId: identity,
  serial: '01',
  notBefore: new Date(),
  notAfter: new Date(),
});

describe('how a service logs in to RabbitMQ (amqpLogin)', () => {
  let home: string;
  let empty: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'flotilla-login-'));
    empty = join(home, 'empty-home');
    await mkdir(join(home, 'secrets', 'bus'), { recursive: true });
    await writeFile(busPasswordFile(home, 'history'), 'provisioned-password\n', { mode: 0o600 });
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  it('keeps the credentials BUS_URL carries', () => {
    expect(amqpLogin({ url: 'amqp://guest:guest@h', service: 'history', identity, home })()).toEqual({});
  });

  it("uses the provisioned password as the service's own user, or the user BUS_URL names", () => {
    const own = amqpLogin({ url: 'amqp://h/fleet', service: 'history', identity, home })();
    expect(own.credentials).toMatchObject({
      mechanism: 'PLAIN',
      username: identity,
      password: 'provisioned-password',
    });
    const named = amqpLogin({ url: 'amqp://hist%2Fory@h', service: 'history', identity, home })();
    expect(named.credentials).toMatchObject({ username: 'hist/ory', password: 'provisioned-password' });
  });

  it('takes FLOTILLA_BUS_PASSWORD_FILE over the home, and says so when it is missing', async () => {
    const file = join(home, 'elsewhere');
    await writeFile(file, 'other\n', { mode: 0o600 });
    const login = amqpLogin({ url: 'amqp://h', service: 'history', identity, home, passwordFile: file })();
    expect(login.credentials).toMatchObject({ password: 'other' });
    const missing = amqpLogin({
      url: 'amqp://h',
      service: 'x',
      identity,
      home,
      passwordFile: join(home, 'nope'),
    });
    expect(missing).toThrow(/cannot read the bus password file/);
  });

  it('logs in with the workload certificate (EXTERNAL) on amqps:// with no user and no password', () => {
    const login = amqpLogin({ url: 'amqps://h:5671', service: 'history', identity, home: empty, tls })();
    expect(login).toMatchObject({
      credentials: { mechanism: 'EXTERNAL' },
      cert: 'CERT',
      key: 'KEY',
      ca: 'CA',
    });
  });

  it('never offers a certificate login over plain amqp://, and falls back to the default login', () => {
    expect(amqpLogin({ url: 'amqp://h', service: 'history', identity, home: empty, tls })()).toEqual({});
  });
});
