// A view travels as a `viewed` message, as in `flotilla up`: a real control plane, the
// fleet's broker (the embedded one as its own process; RabbitMQ in a vhost of its own
// when BUS_URL is set), metadata and history with their workload identities (mTLS) and
// the repository's policies, unchanged. Stand-ins make the calls the real ones would: a
// `gateway` calls metadata and history, a `video-streaming` publishes `viewed` (in the
// fleet it does so once per viewing session).
import { createHistory } from '@flixtube/history';
import { Viewed, VIEWED } from '@flixtube/messages';
import { createMetadata } from '@flixtube/metadata';
import { type BusFleet, busTransports, openBusFleet, until } from '@flixtube/common/testing';
import type { RunningService } from '@flotilla/kit';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.each(busTransports('viewed-over-bus'))('a view travels as viewed on $name', ({ rabbit }) => {
  let fleet: BusFleet;
  let metadata: RunningService;
  let history: RunningService;
  let streaming: RunningService;
  let notYet: { statusCode: number; json(): unknown } | undefined;

  beforeAll(async () => {
    fleet = await openBusFleet('flixtube-viewed', rabbit);
    metadata = await fleet.start('metadata', createMetadata(), { inMemoryDb: true });
    // history starts before the broker: it keeps trying to subscribe until the broker is there.
    history = await fleet.start('history', createHistory(), { inMemoryDb: true });
    if (!rabbit) {
      // No broker yet: history is up but not ready, and says why.
      notYet = await history.app.inject({ method: 'GET', url: '/readyz' });
      await fleet.startBroker();
    }
    await fleet.standIn('gateway');
    streaming = await fleet.standIn('video-streaming');
  });

  /** What video-streaming publishes when `who` starts watching `videoId`. */
  const watch = (who: string, videoId: string) =>
    streaming.ctx.bus.publish(VIEWED, Viewed, {
      videoId,
      userId: `${who}-${fleet.tag}`,
      at: new Date().toISOString(),
    });

  afterAll(() => fleet?.stop());

  it('viewed from video-streaming → history lists the view, with the title from metadata', async () => {
    const bob = await fleet.person('bob', ['admin']);
    const alice = await fleet.person('alice', ['viewer']);
    const created = await fleet.call('metadata', bob, 'POST', '/videos', { title: 'Over the bus' });
    expect(created.status).toBe(201);
    const videoId = created.json.id as string;

    // history is discoverable only once ready, and it is ready only once it consumes `viewed`.
    await until('history is ready (subscribed to viewed)', async () => {
      const res = await fleet.call('history', alice, 'GET', '/history');
      return res.status === 200 ? res : undefined;
    });
    await watch('alice', videoId);

    const listed = await until('history lists the view', async () => {
      const res = await fleet.call('history', alice, 'GET', '/history');
      const views = (res.json.views ?? []) as Array<{ videoId: string; title: string | null }>;
      return views.length > 0 ? views : undefined;
    });
    expect(listed).toEqual([expect.objectContaining({ videoId, title: 'Over the bus' })]);
    expect(listed).toHaveLength(1);
  });

  it.skipIf(rabbit)('history reports bus:viewed unready while the broker is not there', () => {
    expect(notYet?.statusCode).toBe(503);
    expect(notYet?.json()).toMatchObject({
      checks: { 'bus:viewed': { ok: false, error: expect.stringMatching(/^not consuming viewed: /) } },
    });
  });

  it('refuses what the policies do not grant: history and metadata may not publish viewed, metadata may not subscribe', async () => {
    const body = {
      videoId: '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01',
      userId: 'mallory',
      at: new Date().toISOString(),
    };
    await expect(history.ctx.bus.publish('viewed', Viewed, body)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(metadata.ctx.bus.publish('viewed', Viewed, body)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(metadata.ctx.bus.subscribe('viewed', Viewed, async () => undefined)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
  });

  it('a video deleted in metadata is forgotten by history (video-deleted)', async () => {
    const bob = await fleet.person('bob', ['admin']);
    const carol = await fleet.person('carol', ['viewer']);
    const created = await fleet.call('metadata', bob, 'POST', '/videos', { title: 'Soon gone' });
    const videoId = created.json.id as string;
    await watch('carol', videoId);
    const watched = async () =>
      ((await fleet.call('history', carol, 'GET', '/history')).json.views ?? []) as Array<{
        videoId: string;
      }>;
    await until('history lists the view', async () =>
      (await watched()).some((v) => v.videoId === videoId) ? true : undefined,
    );
    expect((await fleet.call('metadata', bob, 'DELETE', `/videos/${videoId}`)).status).toBe(204);
    await until('history forgets the deleted video', async () =>
      (await watched()).some((v) => v.videoId === videoId) ? undefined : true,
    );
  });
});
