// Views travel as `viewed` and deletions as `video-deleted`, as in `flotilla up`: a real
// control plane, the fleet's broker (the embedded one as its own process; RabbitMQ in a
// vhost of its own when BUS_URL is set), metadata and recommendations with their workload
// identities (mTLS) and the repository's policies, unchanged. Stand-ins make the calls the
// real ones would: a `gateway` calls both, a `video-streaming` publishes `viewed`.
import { type BusFleet, busTransports, openBusFleet, until } from '@flixtube/common/testing';
import { Liked, VideoDeleted, Viewed, VIEWED } from '@flixtube/messages';
import { createMetadata } from '@flixtube/metadata';
import type { RunningService } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecommendations } from '../src/index.js';

describe.each(busTransports('recommendations-over-bus'))(
  'views become recommendations on $name',
  ({ rabbit }) => {
    let fleet: BusFleet;
    let recommendations: RunningService;
    let streaming: RunningService;
    let notYet: { statusCode: number; json(): unknown } | undefined;

    beforeAll(async () => {
      fleet = await openBusFleet('flixtube-recommendations-bus', rabbit);
      await fleet.start('metadata', createMetadata(), { inMemoryDb: true });
      // recommendations starts before the broker: it keeps trying to subscribe until the broker is there.
      recommendations = await fleet.start('recommendations', createRecommendations(), { inMemoryDb: true });
      if (!rabbit) {
        notYet = await recommendations.app.inject({ method: 'GET', url: '/readyz' });
        await fleet.startBroker();
      }
      await fleet.standIn('gateway');
      streaming = await fleet.standIn('video-streaming');
      // Two services, a broker and a control plane: more than the default on a busy machine.
    }, 180_000);

    afterAll(() => fleet?.stop());

    /** What video-streaming publishes when `who` starts watching `videoId`. */
    const watch = (who: string, videoId: string) =>
      streaming.ctx.bus.publish(VIEWED, Viewed, {
        videoId,
        userId: `${who}-${fleet.tag}`,
        at: new Date().toISOString(),
      });

    const recommended = async (token: string) => {
      const res = await fleet.call('recommendations', token, 'GET', '/recommendations?limit=50');
      if (res.status !== 200) return undefined;
      return res.json.recommendations as Array<{ videoId: string; title: string | null; reason: string }>;
    };

    it('carol watches what alice watched and gets alice’s other video, titled; deleting it in metadata removes it', async () => {
      const [bob, carol] = [await fleet.person('bob', ['admin']), await fleet.person('carol')];
      // recommendations is discoverable only once ready, and ready only once it consumes its topics.
      await until('recommendations is ready (subscribed)', () => recommended(carol));
      const [both = '', other = ''] = await Promise.all(
        ['Watched by both', 'Watched by alice'].map(async (title) => {
          const created = await fleet.call('metadata', bob, 'POST', '/videos', { title });
          expect(created.status).toBe(201);
          return created.json.id as string;
        }),
      );
      for (const videoId of [both, other]) await watch('alice', videoId);
      await watch('carol', both);

      const recs = await until('recommendations learns the views', async () => {
        const list = await recommended(carol);
        return list?.some((r) => r.videoId === other && r.reason === 'co-viewed') ? list : undefined;
      });
      expect(recs).toContainEqual({
        videoId: other,
        title: 'Watched by alice',
        score: 1,
        reason: 'co-viewed',
      });
      expect(recs.map((r) => r.videoId)).not.toContain(both);

      expect((await fleet.call('metadata', bob, 'DELETE', `/videos/${other}`)).status).toBe(204);
      await until('recommendations drops the deleted video', async () => {
        const list = await recommended(carol);
        return list && !list.some((r) => r.videoId === other) ? list : undefined;
      });
    });

    it.skipIf(rabbit)('reports its subscriptions unready while the broker is not there', () => {
      expect(notYet?.statusCode).toBe(503);
      expect(notYet?.json()).toMatchObject({
        checks: {
          'bus:viewed': { ok: false },
          'bus:liked': { ok: false },
          'bus:video-deleted': { ok: false },
        },
      });
    });

    it('refuses what the policies do not grant: recommendations may not publish viewed, liked or video-deleted', async () => {
      const videoId = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01';
      const at = new Date().toISOString();
      const denied = { code: 'FLT_POLICY_DENIED' };
      await expect(
        recommendations.ctx.bus.publish('viewed', Viewed, { videoId, userId: 'mallory', at }),
      ).rejects.toMatchObject(denied);
      await expect(
        recommendations.ctx.bus.publish('liked', Liked, { videoId, userId: 'mallory', liked: true, at }),
      ).rejects.toMatchObject(denied);
      await expect(
        recommendations.ctx.bus.publish('video-deleted', VideoDeleted, { videoId, at }),
      ).rejects.toMatchObject(denied);
    });
  },
);
