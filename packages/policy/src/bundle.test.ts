import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { FLEET_DIR, people } from '../test/fixtures.js';
import {
  applyBundle,
  Authorizer,
  BUNDLE_TYP,
  createBundle,
  readPolicySources,
  verifyBundle,
} from './index.js';

const sources = await readPolicySources({ dir: FLEET_DIR });
const content = (version: number, policies = sources.files) => ({
  policies,
  schema: sources.schema,
  version,
});
let trusted: Awaited<ReturnType<typeof generateKeyPair>>;
let stranger: Awaited<ReturnType<typeof generateKeyPair>>;

beforeAll(async () => {
  trusted = await generateKeyPair('ES256');
  stranger = await generateKeyPair('ES256');
});

const canRead = (engine: Authorizer) => engine.can('User::"bob"', 'video:Read', 'Video::"v1"', {}, people);

describe('signed policy bundles', () => {
  it('verifies a bundle signed by a trusted key', async () => {
    const bytes = await createBundle(content(3), trusted.privateKey, { kid: 'k1' });
    const bundle = await verifyBundle(bytes, [stranger.publicKey, trusted.publicKey]);
    expect(bundle.version).toBe(3);
    expect(bundle.kid).toBe('k1');
    expect(bundle.compiled.policies.length).toBeGreaterThan(10);
  });

  it('accepts JWK public keys and prefers the one whose kid matches', async () => {
    const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'k1' };
    const bytes = await createBundle(content(1), trusted.privateKey, { kid: 'k1' });
    await expect(verifyBundle(bytes, [jwk])).resolves.toMatchObject({ version: 1 });
  });

  it('rejects a tampered bundle, a wrong key, a foreign typ and another algorithm', async () => {
    const jws = new TextDecoder().decode(await createBundle(content(2), trusted.privateKey));
    const [h, p, s] = jws.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as {
      policies: Record<string, string>;
    };
    payload.policies['evil.cedar'] = 'permit(principal, action, resource);';
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    await expect(verifyBundle(tampered, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_SIGNATURE',
    });
    await expect(verifyBundle(jws, [stranger.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_SIGNATURE',
    });

    const body = new TextEncoder().encode(JSON.stringify({ ...content(2) }));
    const foreign = await new CompactSign(body)
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .sign(trusted.privateKey);
    await expect(verifyBundle(foreign, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_MALFORMED',
    });

    const secret = new Uint8Array(32).fill(7);
    const hmac = await new CompactSign(body)
      .setProtectedHeader({ alg: 'HS256', typ: BUNDLE_TYP })
      .sign(secret);
    await expect(verifyBundle(hmac, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_SIGNATURE',
    });
  });

  it('refuses to sign or accept policies that do not validate', async () => {
    const broken = { 'x.cedar': 'permit(principal, action == Action::"nope", resource);' };
    await expect(createBundle(content(1, broken), trusted.privateKey)).rejects.toMatchObject({
      code: 'FLT_POLICY_INVALID',
    });
    const body = new TextEncoder().encode(JSON.stringify(content(1, broken)));
    const signed = await new CompactSign(body)
      .setProtectedHeader({ alg: 'ES256', typ: BUNDLE_TYP })
      .sign(trusted.privateKey);
    await expect(verifyBundle(signed, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_INVALID',
    });
  });

  it('applies only newer bundles; a bad or replayed one leaves the good set in force', async () => {
    const engine = new Authorizer(sources);
    await applyBundle(engine, await createBundle(content(5), trusted.privateKey), [trusted.publicKey]);
    expect(engine.bundleVersion).toBe(5);
    expect(canRead(engine)).toBe(true);

    const denyAll = await createBundle(content(4, {}), trusted.privateKey);
    await expect(applyBundle(engine, denyAll, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_REPLAY',
    });
    const same = await createBundle(content(5, {}), trusted.privateKey);
    await expect(applyBundle(engine, same, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_REPLAY',
    });
    const forged = await createBundle(content(9, {}), stranger.privateKey);
    await expect(applyBundle(engine, forged, [trusted.publicKey])).rejects.toMatchObject({
      code: 'FLT_POLICY_BUNDLE_SIGNATURE',
    });
    expect(engine.bundleVersion).toBe(5);
    expect(canRead(engine)).toBe(true);

    await applyBundle(engine, await createBundle(content(6, {}), trusted.privateKey), [trusted.publicKey]);
    expect(engine.bundleVersion).toBe(6);
    expect(canRead(engine)).toBe(false);
  });
});
