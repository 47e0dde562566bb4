import type { ServiceContext } from '@flotilla/kit';
import type { VideoStore } from './video-store.js';

// Fixed ids make seeding idempotent: a restart finds them and adds nothing.
const DEMO = [
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a01',
    title: 'Welcome to FlixTube',
    description: 'A short tour of the app.',
  },
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a02',
    title: 'Mutual TLS in five minutes',
    description: 'How every FlixTube service proves who it is.',
  },
  {
    id: '6f1d2b8e-3c1a-4e0f-9a51-0b7c4d2e9a03',
    title: 'Policies as code',
    description: 'Who may delete a video, and why: Cedar.',
  },
] as const;

/** Adds the demo videos owned by `owner`, unless they are there already. */
export async function seedVideos(
  store: VideoStore,
  owner: string,
  log: ServiceContext['log'],
): Promise<void> {
  let added = 0;
  for (const video of DEMO) if (await store.ensure({ ...video, owner })) added += 1;
  if (added > 0) log.info({ added }, 'demo videos added');
}
