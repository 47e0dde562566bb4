// Likes travel as `liked` and deletions as `video-deleted`, as in `flotilla up`: a real
// control plane, the fleet's broker (the embedded one as its own process; RabbitMQ in a
// vhost of its own when BUS_URL is set), metadata, likes and recommendations with their
// workload identities (mTLS) and the repository's policies, unchanged. A stand-in gateway
// (a service named `gateway`, which the policies let call all three) makes the calls the
// real gateway would.
import { type BusFleet, busTransports, openBusFleet, until } from '@flixtube/common/testing';
import { createLikes } from '@flixtube/likes';
import { Liked, Viewed } from '@flixtube/messages';
import { createMetadata } from '@flixtube/metadata';
import { createRecommendations } from '@flixtube/recommendations';
import type { RunningService } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.each(busTransports('likes-over-bus'))('likes travel on $name', ({ rabbit }) => {
  let fleet: BusFleet;
  let metadata: RunningService;
  let likes: RunningService;
  let recommendations: RunningService;

  beforeAll(async () => {
    fleet = await openBusFleet('flixtube-likes-bus', rabbit);
    await fleet.startBroker();
    metadata = await fleet.start('metadata', createMetadata(), { inMemoryDb: true });
    likes = await fleet.start('likes', createLikes(), { inMemoryDb: true });
    recommendations = await fleet.start('recommendations', createRecommendations(), { inMemoryDb: true });
    await fleet.standIn('gateway');
    // Three services, a broker and a control plane: more than the default on a busy machine.
  }, 180_000);

  afterAll(() => fleet?.stop());

  /** Waits until `service` is discoverable, which it is only once ready (consuming its subscriptions). */
  const ready = (service: string, token: string, path: string) =>
    until(`${service} is ready (subscribed)`, async () => {
      const res = await fleet.call(service, token, 'GET', path);
      return res.status === 200 ? res : undefined;
    });
  const recommended = async (token: string) =>
    ((await fleet.call('recommendations', token, 'GET', '/recommendations?limit=50')).json.recommendations ??
      []) as Array<{
      videoId: string;
      reason: string;
    }>;

  it('a like reaches recommendations as liked; a deletion in metadata reaches likes as video-deleted', async () => {
    const [bob, alice, carol] = [
      await fleet.person('bob', ['admin']),
      await fleet.person('alice'),
      await fleet.person('carol'),
    ];
    await ready('likes', alice, '/favorites');
    await ready('recommendations', carol, '/recommendations');
    const [a, b] = await Promise.all(
      ['Liked by both', 'Liked by alice'].map(async (title) => {
        const created = await fleet.call('metadata', bob, 'POST', '/videos', { title });
        expect(created.status).toBe(201);
        return created.json.id as string;
      }),
    );
    for (const id of [a, b])
      expect((await fleet.call('likes', alice, 'PUT', `/videos/${id}/like`)).status).toBe(204);
    expect((await fleet.call('likes', alice, 'PUT', `/videos/${b}/favorite`)).status).toBe(204);
    expect((await fleet.call('likes', carol, 'PUT', `/videos/${a}/like`)).status).toBe(204);
    expect((await fleet.call('likes', carol, 'GET', `/videos/${a}/likes`)).json).toEqual({
      videoId: a,
      likes: 2,
      liked: true,
      favorited: false,
    });

    // carol liked what alice liked: alice's other like is recommended to her, from `liked`.
    const recs = await until('recommendations learns the likes', async () => {
      const list = await recommended(carol);
      return list.some((r) => r.videoId === b && r.reason === 'co-viewed') ? list : undefined;
    });
    expect(recs.map((r) => r.videoId)).not.toContain(a);

    // bob deletes b in metadata: likes forgets alice's favorite, recommendations the video.
    expect((await fleet.call('metadata', bob, 'DELETE', `/videos/${b}`)).status).toBe(204);
    await until('likes forgets the deleted video', async () => {
      const res = await fleet.call('likes', alice, 'GET', '/favorites');
      const favorites = res.json.favorites as Array<{ videoId: string }>;
      return favorites.some((f) => f.videoId === b) ? undefined : favorites;
    });
    await until('recommendations drops the deleted video', async () =>
      (await recommended(carol)).some((r) => r.videoId === b) ? undefined : true,
    );
    expect((await fleet.call('likes', alice, 'PUT', `/videos/${b}/like`)).status).toBe(404);
  });

  it('refuses what the policies do not grant: likes may not publish viewed nor subscribe to liked, metadata may not publish liked', async () => {
    const like = {
      videoId: '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01',
      userId: 'mallory',
      liked: true,
      at: new Date().toISOString(),
    };
    const { liked: _, ...view } = like;
    await expect(likes.ctx.bus.publish('viewed', Viewed, view)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(likes.ctx.bus.subscribe('liked', Liked, async () => undefined)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(metadata.ctx.bus.publish('liked', Liked, like)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
    await expect(recommendations.ctx.bus.publish('liked', Liked, like)).rejects.toMatchObject({
      code: 'FLT_POLICY_DENIED',
    });
  });
});
