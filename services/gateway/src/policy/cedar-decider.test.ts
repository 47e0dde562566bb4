import { describe, expect, it } from 'vitest';
import { cedarIp } from './cedar-decider.js';

describe('cedarIp', () => {
  it('keeps what Cedar ip() parses and drops what it would fail on', () => {
    expect(cedarIp('127.0.0.1')).toBe('127.0.0.1');
    expect(cedarIp('::1')).toBe('::1');
    expect(cedarIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(cedarIp('fe80::1%eth0')).toBe('fe80::1');
    expect(cedarIp('64:ff9b::1.2.3.4')).toBeUndefined();
    expect(cedarIp('not-an-ip')).toBeUndefined();
  });
});
