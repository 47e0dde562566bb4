import { describe, expect, it } from 'vitest';
import { parseByteRange, rangeHeader } from '../src/byte-range.js';

describe('parseByteRange (RFC 9110 §14)', () => {
  it.each([
    ['bytes=0-99', { first: 0, last: 99 }],
    ['bytes=100-', { first: 100 }],
    ['bytes=-500', { suffix: 500 }],
    ['Bytes=5-5', { first: 5, last: 5 }],
    ['bytes= 1-2 ', { first: 1, last: 2 }],
  ])('%s is one range', (header, range) => {
    expect(parseByteRange(header)).toEqual(range);
    expect(rangeHeader(range)).toBe(header.toLowerCase().replace(/ /g, ''));
  });

  it('no header, or another unit (which must be ignored): the whole object', () => {
    expect(parseByteRange(undefined)).toBeUndefined();
    expect(parseByteRange('items=0-5')).toBeUndefined();
  });

  it.each([
    'bytes=',
    'bytes=-',
    'bytes=abc',
    'bytes=5-2',
    'bytes=--1',
    'bytes=1-2-3',
    '0-5',
    'bytes=0-1,4-5',
  ])('%s is refused with FLT_BAD_REQUEST', (header) => {
    expect(() => parseByteRange(header)).toThrow(expect.objectContaining({ code: 'FLT_BAD_REQUEST' }));
  });

  it('two Range headers are refused', () => {
    expect(() => parseByteRange(['bytes=0-1', 'bytes=2-3'])).toThrow(
      expect.objectContaining({ code: 'FLT_BAD_REQUEST' }),
    );
  });
});
