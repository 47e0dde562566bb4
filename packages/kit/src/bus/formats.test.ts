import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { defineMessage } from './message-type.js';

const Viewed = defineMessage(
  'viewed',
  Type.Object({
    videoId: Type.String({ format: 'uuid' }),
    at: Type.String({ format: 'date-time' }),
    contact: Type.Optional(Type.String({ format: 'email' })),
  }),
);
const good = { videoId: '0b9c1a52-6f0e-4d3b-8a1e-2c4d6e8f0a01', at: '2026-12-07T15:00:00.000Z' };

describe('string formats in message schemas', () => {
  it('accepts values of the format', () => {
    expect(Viewed.problem(good)).toBeUndefined();
    expect(Viewed.problem({ ...good, contact: 'alice@example.com' })).toBeUndefined();
  });

  it.each([
    ['a videoId that is no uuid', { ...good, videoId: 'cats' }, '/videoId'],
    ['a time that is no date-time', { ...good, at: 'yesterday' }, '/at'],
    ['an impossible date', { ...good, at: '2026-02-30T10:00:00Z' }, '/at'],
    ['a contact that is no email', { ...good, contact: 'alice' }, '/contact'],
  ])('refuses %s, naming the field', (_, body, field) => {
    expect(Viewed.problem(body)).toMatch(new RegExp(`^viewed${field}: `));
  });
});
