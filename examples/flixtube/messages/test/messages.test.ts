import { describe, expect, it } from 'vitest';
import { Liked, VideoDeleted, VideoUploaded, Viewed } from '../src/index.js';

const videoId = '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01';
const at = '2026-12-07T15:00:00.000Z';

describe("FlixTube's messages", () => {
  it.each([
    [Viewed, { videoId, userId: 'alice', at }],
    [Viewed, { videoId, userId: 'alice', sessionId: 's-1', at }],
    [VideoUploaded, { videoId, contentType: 'video/mp4', size: 1024 }],
    [Liked, { videoId, userId: 'alice', liked: false, at }],
    [VideoDeleted, { videoId, at }],
  ])('%# accepts a well-formed %s', (type, body) => {
    expect(type.problem(body)).toBeUndefined();
  });

  it.each([
    [Viewed, { videoId: 'cats', userId: 'alice', at }, 'viewed/videoId'],
    [Viewed, { videoId, userId: 'alice', at: 'now' }, 'viewed/at'],
    [Viewed, { videoId, userId: '', at }, 'viewed/userId'],
    [Viewed, { videoId, userId: 'alice', at, title: 'x' }, 'viewed/title'],
    [VideoUploaded, { videoId, contentType: 'text/plain', size: 1 }, 'video-uploaded/contentType'],
    [VideoUploaded, { videoId, contentType: 'video/mp4', size: 0 }, 'video-uploaded/size'],
    [Liked, { videoId, userId: 'alice', at }, 'liked/liked'],
    [VideoDeleted, { videoId: videoId.toUpperCase().replace('0B9C', 'zz9c'), at }, 'video-deleted/videoId'],
  ])('%# refuses a bad body, naming %s', (type, body, where) => {
    expect(type.problem(body)).toMatch(new RegExp(`^${where}: `));
  });
});
