import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BusFleet } from '@flixtube/common/testing';
import type { RunningService } from '@flotilla/kit';
import { createStorage } from '@flotilla/storage';

export const AUDIENCE = 'flixtube-api';
export const POLICY_DIR = resolve(import.meta.dirname, '../../../../../policies');
export const VIDEOS_POLICY = resolve(POLICY_DIR, 'buckets/videos.cedar');

/** A box header: 4-byte big-endian size (header included), then the 4-byte type. */
function box(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, payload]);
}

/**
 * A minimal MP4 (ISO BMFF): an `ftyp` box (brand isom, minor version 512, compatible
 * isom/iso2/mp41), then an `mdat` box of `size` payload bytes. The sniffing only reads the
 * header; `size` makes it as large as a test needs.
 */
export function tinyMp4(size = 1024): Buffer {
  const ftyp = box(
    'ftyp',
    Buffer.concat([
      Buffer.from('isom', 'latin1'),
      Buffer.from([0, 0, 2, 0]),
      Buffer.from('isomiso2mp41', 'latin1'),
    ]),
  );
  return Buffer.concat([ftyp, box('mdat', Buffer.alloc(size, 0x5a))]);
}

/** The start of a WebM file: the EBML header magic, then filler. */
export function tinyWebm(size = 1024): Buffer {
  return Buffer.concat([
    Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01]),
    Buffer.alloc(size, 0x42),
  ]);
}

/** Starts the storage service with the bucket `videos` (the repository's bucket policy, `limit`). */
export async function startVideosBucket(fleet: BusFleet, limit: number): Promise<RunningService> {
  await writeFile(
    join(fleet.home, 'buckets.json'),
    JSON.stringify([
      {
        name: 'videos',
        key: 'videos',
        maxObjectSize: limit,
        contentTypes: ['video/*'],
        policy: VIDEOS_POLICY,
      },
    ]),
  );
  return fleet.start('storage', createStorage(), {
    env: {
      STORAGE_BUCKETS_FILE: join(fleet.home, 'buckets.json'),
      STORAGE_LOCAL_KEY_FILE: join(fleet.home, 'storage.key'),
      STORAGE_URL: `file://${join(fleet.home, 'objects')}`,
    },
    inMemoryDb: true,
  });
}
