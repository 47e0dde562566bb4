import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { openEmbedded } from '../db/index.js';
import { decodeEnvelope, encodeEnvelope, type Envelope, MAX_ENVELOPE_BYTES } from './envelope.js';
import { Idempotency } from './idempotency.js';
import { defineMessage } from './message-type.js';
import { backoffMs, DEFAULT_RETRY } from './retry-policy.js';

const envelope: Envelope = {
  id: '6f1c1d9e-8d6b-4a53-9d1e-3c1b8f0a2b7c',
  type: 'viewed',
  time: '2026-12-07T05:00:00.000Z',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  sender: 'spiffe://flotilla.local/svc/video-streaming',
  attempt: 1,
  body: { videoId: 'v1' },
};

describe('the bus envelope', () => {
  it('round-trips through its wire form', () => {
    expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['no sender', JSON.stringify({ ...envelope, sender: undefined }), /sender/],
    ['a sender that is no SPIFFE ID', JSON.stringify({ ...envelope, sender: 'history' }), /sender/],
    ['an attempt of 0', JSON.stringify({ ...envelope, attempt: 0 }), /attempt/],
    ['a malformed traceparent', JSON.stringify({ ...envelope, traceparent: '01-x' }), /traceparent/],
    ['an unknown field', JSON.stringify({ ...envelope, extra: 1 }), /envelope/],
  ])('refuses %s as FLT_MESSAGE_INVALID', (_what, text, reason) => {
    expect(() => decodeEnvelope(Buffer.from(text))).toThrow(
      expect.objectContaining({ code: 'FLT_MESSAGE_INVALID' }),
    );
    expect(() => decodeEnvelope(Buffer.from(text))).toThrow(reason);
  });

  it('refuses to encode a message over the size limit', () => {
    const big = { ...envelope, body: 'x'.repeat(MAX_ENVELOPE_BYTES) };
    expect(() => encodeEnvelope(big)).toThrow(expect.objectContaining({ code: 'FLT_MESSAGE_TOO_LARGE' }));
  });
});

describe('message types', () => {
  const Viewed = defineMessage(
    'viewed',
    Type.Object({ videoId: Type.String() }, { additionalProperties: false }),
  );

  it('names the first problem of a body, located', () => {
    expect(Viewed.problem({ videoId: 'v1' })).toBeUndefined();
    expect(Viewed.problem({ videoId: 1 })).toMatch(/^viewed\/videoId: /);
    expect(Viewed.problem({ videoId: 'v1', more: true })).toMatch(/^viewed\/more/);
  });

  it('refuses a name the wire cannot carry', () => {
    expect(() => defineMessage('has space', Type.Null())).toThrow(/message type/);
  });
});

describe('retry back-off', () => {
  it('doubles up to the bound, with jitter within half of it', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3].map((a) => backoffMs(policy, a, () => 0))).toEqual([50, 100, 200]);
  });
});

describe('the idempotency helper', () => {
  it('runs a handler once per message id, in one transaction with its writes', async () => {
    const db = await openEmbedded({ service: 'idem', inMemory: true });
    try {
      await db.exec('CREATE TABLE views (video_id text)');
      const once = new Idempotency(db);
      const record = (tx: Parameters<Parameters<Idempotency['run']>[1]>[0]) =>
        tx.query('INSERT INTO views VALUES ($1)', ['v1']).then(() => undefined);
      expect(await once.run('m1', record)).toBe(true);
      expect(await once.run('m1', record)).toBe(false);
      // A handler that fails leaves no trace: the id is free for the redelivery.
      await expect(
        once.run('m2', async (tx) => {
          await record(tx);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await once.run('m2', record)).toBe(true);
      expect((await db.query('SELECT count(*)::int AS n FROM views')).rows[0]).toEqual({ n: 2 });
    } finally {
      await db.close();
    }
  });
});
