import { randomBytes } from 'node:crypto';

/**
 * A random 128-bit serial, in the two forms the CA needs: `der`, the hex of a positive DER
 * INTEGER (RFC 5280 §4.1.2.2: positive, at most 20 octets; a leading 00 octet keeps it
 * positive when the top bit is set), and `id`, how the serial is stored, listed and
 * compared (lower-case hex without leading zeros, the kit's `normaliseSerial`). A first
 * octet below 0x10 is drawn again: the DER encoding stays minimal, and the octets' hex has
 * no leading zero, so it is its own normal form (~127.9 random bits remain).
 */
export function newSerial(): { der: string; id: string } {
  for (;;) {
    const bytes = randomBytes(16);
    const first = bytes[0] ?? 0;
    if (first < 0x10) continue;
    const id = bytes.toString('hex');
    return { der: first & 0x80 ? `00${id}` : id, id };
  }
}

/** A random serial as the hex of a positive DER INTEGER (see `newSerial`). */
export function randomSerial(): string {
  return newSerial().der;
}

/** The hex @peculiar/x509 expects for a positive DER INTEGER: even length, 00 before a high bit. */
export function serialForAsn(serial: string): string {
  const even = serial.length % 2 ? `0${serial}` : serial;
  return /^[89a-f]/i.test(even) ? `00${even}` : even;
}
