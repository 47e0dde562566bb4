import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens bound to one interaction: an HMAC of its uid under a server secret. A
 * forged form cannot carry it, and it is worthless for any other interaction.
 */
export class Csrf {
  constructor(private readonly key: string) {}

  token(uid: string): string {
    return createHmac('sha256', this.key).update(`csrf\0${uid}`).digest('base64url');
  }

  valid(uid: string, candidate: unknown): boolean {
    if (typeof candidate !== 'string') return false;
    const expected = Buffer.from(this.token(uid));
    const actual = Buffer.from(candidate);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
