import type { EntityInput } from '@flotilla/policy';

/** A video as the Cedar resource the policies judge: `Video::"<id>"` owned by `User::"<owner>"`. */
export function videoEntity(video: { id: string; owner: string }): EntityInput {
  return {
    uid: { type: 'Video', id: video.id },
    attrs: { owner: { __entity: { type: 'User', id: video.owner } } },
  };
}
