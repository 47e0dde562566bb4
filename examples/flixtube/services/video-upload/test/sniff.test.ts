import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { declaredVideoType, peek, sniffVideo } from '../src/sniff.js';
import { tinyMp4, tinyWebm } from './fixtures.js';

describe('sniffing an upload', () => {
  it.each([
    ['an MP4 (ftyp box at offset 4)', tinyMp4(), 'video/mp4'],
    ['a WebM (EBML magic)', tinyWebm(), 'video/webm'],
    ['a renamed text file', Buffer.from('hello, this is not a video\n'), undefined],
    ['an empty file', Buffer.alloc(0), undefined],
    ['ftyp at the wrong offset', Buffer.from('ftypisom0000'), undefined],
    ['a truncated EBML magic', Buffer.from([0x1a, 0x45, 0xdf]), undefined],
    ['a JPEG', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), undefined],
  ])('%s', (_name, bytes, expected) => {
    expect(sniffVideo(bytes)).toBe(expected);
  });

  it.each([
    ['video/mp4', 'video/mp4'],
    ['Video/WebM; codecs="vp9"', 'video/webm'],
    ['video/quicktime', undefined],
    ['text/plain', undefined],
    [undefined, undefined],
  ])('takes the declared type %s as %s', (declared, expected) => {
    expect(declaredVideoType(declared)).toBe(expected);
  });

  it('peeks at the head of a stream in small chunks and gives back every byte, in order', async () => {
    const bytes = tinyMp4(10_000);
    const chunks = [
      bytes.subarray(0, 3),
      bytes.subarray(3, 5),
      bytes.subarray(5, 4000),
      bytes.subarray(4000),
    ];
    const { head, whole } = await peek(Readable.from(chunks)[Symbol.asyncIterator](), 8);
    expect(head.equals(bytes.subarray(0, 8))).toBe(true);
    const out: Buffer[] = [];
    for await (const c of whole) out.push(Buffer.from(c));
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it('peeks at a stream shorter than the head', async () => {
    const { head, whole } = await peek(Readable.from([Buffer.from('abc')])[Symbol.asyncIterator](), 8);
    expect(head.toString()).toBe('abc');
    const out: Buffer[] = [];
    for await (const c of whole) out.push(Buffer.from(c));
    expect(Buffer.concat(out).toString()).toBe('abc');
  });
});
