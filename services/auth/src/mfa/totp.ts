import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';
import type { Sealer } from '../keys.js';
import { type Argon2Params, hashSecret, verifySecret } from '../users/password.js';
import type { User, UserStore } from '../users/store.js';

const RECOVERY_CODES = 10;
// RFC 6238 §5.2: accept one step of clock drift either way.
const EPOCH_TOLERANCE_SECONDS = 30;

export interface Enrollment {
  otpauthUri: string;
  /** The same URI as a PNG data URL, for an `<img>`. */
  qrDataUrl: string;
}

/** Starts TOTP enrollment: a new secret, pending until a first code confirms it. */
export async function startEnrollment(
  users: UserStore,
  sealer: Sealer,
  user: User,
  issuerName: string,
): Promise<Enrollment> {
  const secret = generateSecret();
  await users.setPendingTotp(user.id, await sealer.seal(secret));
  const otpauthUri = generateURI({ issuer: issuerName, label: user.username, secret });
  return { otpauthUri, qrDataUrl: await QRCode.toDataURL(otpauthUri) };
}

function recoveryCode(): string {
  const s = randomBytes(8).toString('base64url').replace(/[-_]/g, 'x').slice(0, 10).toLowerCase();
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** Confirms enrollment with a first code; returns the recovery codes (shown once, stored hashed). */
export async function confirmEnrollment(
  users: UserStore,
  sealer: Sealer,
  argon2: Argon2Params,
  user: User,
  code: string,
): Promise<string[] | undefined> {
  if (!user.totpPending) return undefined;
  const secret = await sealer.open(user.totpPending);
  const result = await verify({ secret, token: code.trim(), epochTolerance: EPOCH_TOLERANCE_SECONDS });
  if (!result.valid || !('epoch' in result)) return undefined;
  const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
  const hashes = await Promise.all(codes.map((c) => hashSecret(c, argon2)));
  await users.confirmTotp(user.id, result.epoch, hashes);
  return codes;
}

/** Verifies a TOTP code (once per time step) or a recovery code (once ever). */
export async function verifySecondFactor(
  users: UserStore,
  sealer: Sealer,
  user: User,
  code: string,
): Promise<'otp' | 'recovery' | undefined> {
  if (!user.totpSecret) return undefined;
  const trimmed = code.trim().toLowerCase();
  if (/^\d{6}$/.test(trimmed)) {
    const secret = await sealer.open(user.totpSecret);
    const result = await verify({ secret, token: trimmed, epochTolerance: EPOCH_TOLERANCE_SECONDS });
    if (result.valid && 'epoch' in result && (await users.useTotpEpoch(user.id, result.epoch))) return 'otp';
    return undefined;
  }
  for (const stored of user.recoveryCodes) {
    if ((await verifySecret(stored, trimmed)) && (await users.useRecoveryCode(user.id, stored)))
      return 'recovery';
  }
  return undefined;
}
