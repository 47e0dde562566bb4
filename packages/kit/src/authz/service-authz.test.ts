import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLE_TYP,
  createBundle,
  type DecisionLogEntry,
  PolicyError,
  readPolicySources,
} from '@flotilla/policy';
import { CompactSign } from 'jose';
import { describe, expect, it, vi } from 'vitest';
import { ServiceAuthz } from './service-authz.js';

const POLICY_DIR = join(import.meta.dirname, '..', '..', '..', '..', 'policies');
const FORBID_FILE = 'zz-forbid-whoami.cedar';
const FORBID = `@id("test-forbid-frontend-whoami")
forbid (
  principal == Service::"frontend",
  action == Action::"http:GET",
  resource is Endpoint
)
when { resource.service == "metadata" && resource.path == "/whoami" };
`;

describe("the kit's bundle apply path", () => {
  const trusted = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const trustedJwk = trusted.publicKey.export({ format: 'jwk' });

  const forbid = (extra: Record<string, string>, version: number, key = trusted.privateKey) =>
    readPolicySources({ dir: POLICY_DIR }).then((s) =>
      createBundle({ policies: { ...s.files, ...extra }, schema: s.schema, version }, key),
    );

  const load = async (first: Uint8Array) =>
    ServiceAuthz.load({
      service: 'metadata',
      trustDomain: 'flotilla.local',
      dir: join(tmpdir(), 'no-such-policy-dir'),
      allowedCalls: { frontend: { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] } },
      bundle: {
        fetch: async () => ({ status: 'ok', bytes: first, etag: '"1"' }),
        keys: async () => [trustedJwk],
        pollMs: 60_000,
      },
      onDecision: () => undefined,
      onReloadError: () => undefined,
    });

  // Correctly signed, but a policy that does not validate (createBundle would refuse to make it).
  const signedInvalid = async (version: number) => {
    const s = await readPolicySources({ dir: POLICY_DIR });
    const payload = {
      version,
      schema: s.schema,
      policies: {
        ...s.files,
        'bad.cedar': 'permit (principal, action == Action::"http:TELEPORT", resource);',
      },
    };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', typ: BUNDLE_TYP })
      .sign(trusted.privateKey);
  };

  it('rejects a bad signature, a tampered payload, an invalid policy, an older or equal version; the old set keeps working', async () => {
    const authz = await load(await forbid({}, 5));
    const allowed = () => authz.check('frontend', 'GET', '/whoami').decision;
    expect(authz.bundleVersion).toBe(5);
    expect(allowed()).toBe('allow'); // the declared call, on top of the bundle

    const denyAll = { [FORBID_FILE]: FORBID };
    const refusals: Array<[() => Promise<number>, string]> = [
      [
        async () => authz.applyBundle(await forbid(denyAll, 6, other.privateKey), [trustedJwk]),
        'FLT_POLICY_BUNDLE_SIGNATURE',
      ],
      [async () => authz.applyBundle(await forbid(denyAll, 4), [trustedJwk]), 'FLT_POLICY_BUNDLE_REPLAY'],
      [async () => authz.applyBundle(await forbid(denyAll, 5), [trustedJwk]), 'FLT_POLICY_BUNDLE_REPLAY'],
      [
        async () => authz.applyBundle(tamper(await forbid(denyAll, 7)), [trustedJwk]),
        'FLT_POLICY_BUNDLE_SIGNATURE',
      ],
      [async () => authz.applyBundle('not.a-bundle', [trustedJwk]), 'FLT_POLICY_BUNDLE_MALFORMED'],
      [async () => authz.applyBundle(await signedInvalid(10), [trustedJwk]), 'FLT_POLICY_INVALID'],
      [async () => authz.applyBundle(await forbid(denyAll, 8), []), 'FLT_POLICY_BUNDLE_SIGNATURE'],
    ];
    for (const [attempt, code] of refusals) {
      const err = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PolicyError);
      expect((err as PolicyError).code).toBe(code);
      expect(authz.bundleVersion).toBe(5);
      expect(allowed()).toBe('allow');
    }

    expect(await authz.applyBundle(await forbid(denyAll, 9), [trustedJwk])).toBe(9);
    expect(allowed()).toBe('deny');
    authz.close();
  });

  it('remembers an allow per caller, method and route; every denial still goes to the engine and its log', async () => {
    const logged: DecisionLogEntry[] = [];
    const authz = await ServiceAuthz.load({
      service: 'metadata',
      trustDomain: 'flotilla.local',
      dir: POLICY_DIR,
      allowedCalls: { frontend: { calls: [{ service: 'metadata', method: 'GET', path: '/whoami' }] } },
      onDecision: (entry) => logged.push(entry),
      onReloadError: () => undefined,
    });
    const asked = vi.spyOn(authz, 'decide');
    for (let i = 0; i < 3; i++) {
      expect(authz.check('frontend', 'GET', '/whoami').decision).toBe('allow');
      expect(authz.check('frontend', 'HEAD', '/whoami').decision).toBe('allow'); // HEAD is decided as GET
      expect(authz.check('frontend', 'POST', '/whoami').decision).toBe('deny');
      expect(authz.check('frontend', 'GET', '/whoami/x').decision).toBe('deny');
      expect(authz.check('stranger', 'GET', '/whoami').decision).toBe('deny');
    }
    expect(logged.map((e) => `${e.decision} ${e.principal} ${e.resource}`)).toEqual(
      Array.from({ length: 3 }, () => [
        'deny Service::"frontend" Endpoint::"metadata POST /whoami"',
        'deny Service::"frontend" Endpoint::"metadata GET /whoami/x"',
        'deny Service::"stranger" Endpoint::"metadata GET /whoami"',
      ]).flat(),
    );
    // The engine was asked once for the allow (GET and HEAD share it), every time for a denial.
    expect(asked).toHaveBeenCalledTimes(1 + 3 * 3);
    authz.close();
  });

  it('falls back to the directory with a warning when the control plane has no bundle', async () => {
    const reasons: string[] = [];
    const authz = await ServiceAuthz.load({
      service: 'metadata',
      trustDomain: 'flotilla.local',
      dir: POLICY_DIR,
      allowedCalls: {},
      bundle: { fetch: async () => ({ status: 'none' }), keys: async () => [], pollMs: 60_000 },
      onDecision: () => undefined,
      onReloadError: () => undefined,
      onFallback: (reason) => reasons.push(reason),
    });
    expect(reasons).toEqual(['the control plane has no policy bundle']);
    expect(authz.bundleVersion).toBe(0);
    expect(authz.check('control', 'GET', '/readyz').decision).toBe('allow');
    authz.close();
  });
});

/** Flips one character of the payload, keeping the JWS well-formed. */
function tamper(bytes: Uint8Array): string {
  const [h, p, s] = new TextDecoder().decode(bytes).split('.') as [string, string, string];
  const payload = Buffer.from(p, 'base64url').toString('utf8').replace('"version":7', '"version":70');
  return `${h}.${Buffer.from(payload).toString('base64url')}.${s}`;
}
