import { normaliseSerial } from '@flotilla/kit';
import { describe, expect, it } from 'vitest';
import { newSerial, serialForAsn } from './serial.js';

describe('certificate serials', () => {
  it('stores a serial as the kit compares it: the id is the normal form of the DER serial', () => {
    // A first octet 0x01–0x0f once gave "0a…" as the id while peers normalise it to "a…",
    // and renewal found no such certificate. Enough draws to meet such octets many times.
    for (let i = 0; i < 2000; i++) {
      const { der, id } = newSerial();
      expect(id).toBe(normaliseSerial(der));
      expect(serialForAsn(id)).toBe(der);
      expect(der.length === 32 || (der.length === 34 && der.startsWith('00'))).toBe(true);
    }
  });
});
