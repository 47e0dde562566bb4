import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineMessage, defineService, Type } from '@flotilla/kit';
import { describe, expect, it } from 'vitest';
import { tempHome } from './helpers.js';

const Note = defineMessage('note', Type.Object({ n: Type.Integer() }));
const plain = defineService({ name: 'plain', routes: () => undefined });

describe('ctx.bus', () => {
  it('says a service without BUS_URL or a control plane has no bus, only when it is used', async () => {
    const home = await tempHome();
    const svc = await plain.start({ env: { PORT: '0', FLOTILLA_HOME: home.dir, LOG_LEVEL: 'silent' } });
    try {
      expect(() => svc.ctx.bus).toThrow(/no BUS_URL and no control plane, so it has no message bus/);
    } finally {
      await svc.stop();
      await home.remove();
    }
  });

  it('denies everything without policies in force (no workload identity), and audits the denial', async () => {
    const home = await tempHome();
    // An unreachable broker: the denial comes first, and no connection is ever tried.
    const env = { PORT: '0', FLOTILLA_HOME: home.dir, LOG_LEVEL: 'silent', BUS_URL: 'amqp://127.0.0.1:1' };
    const svc = await plain.start({ env });
    try {
      await expect(svc.ctx.bus.send('jobs', Note, { n: 1 })).rejects.toMatchObject({
        code: 'FLT_POLICY_DENIED',
      });
      const audit = await readFile(join(home.dir, 'audit', 'plain.jsonl'), 'utf8');
      expect(JSON.parse(audit.trim().split('\n').at(-1)!)).toMatchObject({
        actor: 'spiffe://flotilla.local/svc/plain',
        action: 'bus.deny',
        target: 'Queue::"jobs"',
        outcome: 'denied',
      });
    } finally {
      await svc.stop();
      await home.remove();
    }
  });
});
