import { randomBytes } from 'node:crypto';

/**
 * A random 128-bit serial as hex. RFC 5280 §4.1.2.2: positive, at most 20 octets; a
 * leading 00 octet keeps the DER INTEGER positive when the top bit is set, and a zero
 * first octet is drawn again so the encoding stays minimal.
 */
export function randomSerial(): string {
  for (;;) {
    const bytes = randomBytes(16);
    const first = bytes[0] ?? 0;
    if (first === 0) continue;
    const hex = bytes.toString('hex');
    return first & 0x80 ? `00${hex}` : hex;
  }
}

/** Serials compared as lower-case hex without leading zeros, whoever printed them. */
export function normaliseSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

export const SERIAL_HEX = /^(?:0x)?[0-9a-fA-F]{1,42}$/;

/** The hex @peculiar/x509 expects for a positive DER INTEGER: even length, 00 before a high bit. */
export function serialForAsn(serial: string): string {
  const even = serial.length % 2 ? `0${serial}` : serial;
  return /^[89a-f]/i.test(even) ? `00${even}` : even;
}
