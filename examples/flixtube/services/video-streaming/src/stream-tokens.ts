import { randomUUID } from 'node:crypto';
import { FlotillaError } from '@flotilla/kit';
import { errors, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'video-streaming';
const AUDIENCE = 'video-streaming/stream';

/** What a verified stream token says: who may stream which video, in which viewing session. */
export interface StreamGrant {
  videoId: string;
  sub: string;
  sessionId: string;
}

/**
 * Short-lived tokens for the browser's `<video>` element, which cannot send an
 * Authorization header: an HS256 JWT (jose) in the stream URL's `token` parameter,
 * bound to the video, the viewer's `sub` and a viewing session, issued and verified only
 * by this service (`iss`/`aud` are its own, so no other token of the fleet passes).
 * The kit's logger redacts `token=` in URLs.
 */
export class StreamTokens {
  /** `key`: the key, or how to get it when first needed (see `lazyStreamKey`). */
  constructor(
    private readonly key: Uint8Array | (() => Promise<Uint8Array>),
    private readonly ttlSeconds: number,
  ) {}

  private signingKey(): Promise<Uint8Array> {
    return typeof this.key === 'function' ? this.key() : Promise.resolve(this.key);
  }

  async issue(videoId: string, sub: string): Promise<{ token: string; expires: Date; sessionId: string }> {
    const sessionId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ vid: videoId, sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'flixtube-stream+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .sign(await this.signingKey());
    return { token, expires: new Date((now + this.ttlSeconds) * 1000), sessionId };
  }

  /**
   * The grant of `token` for streaming `videoId`: 401 when it is missing, expired,
   * tampered with or not one of ours; 403 when it is valid but for another video.
   */
  async verify(token: string | undefined, videoId: string): Promise<StreamGrant> {
    if (!token) throw new FlotillaError('FLT_UNAUTHENTICATED', 'a stream needs its token (?token=…)');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, await this.signingKey(), {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: 'flixtube-stream+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'vid', 'sid'],
        clockTolerance: 5,
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired)
        throw new FlotillaError('FLT_TOKEN_EXPIRED', 'the stream token has expired; ask for a new one');
      throw new FlotillaError('FLT_TOKEN_INVALID', 'the stream token is not valid');
    }
    const { vid, sid, sub } = payload;
    if (typeof vid !== 'string' || typeof sid !== 'string' || typeof sub !== 'string')
      throw new FlotillaError('FLT_TOKEN_INVALID', 'the stream token is not valid');
    if (vid !== videoId) throw new FlotillaError('FLT_FORBIDDEN', 'the stream token is for another video');
    return { videoId: vid, sub, sessionId: sid };
  }
}
