import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import { FlotillaError } from '../../errors/index.js';
import { ControlAdminClient } from './admin-client.js';
import { adminTokenPath } from './admin-token.js';
import { CONTROL_ROUTES, instancePath } from './routes.js';
import {
  IssuedCertificate,
  IssueRequest,
  JoinTokenRequest,
  RegisterRequest,
  RevokeRequest,
  RotateCaRequest,
  TrustBundle,
} from './schemas.js';
import { decodeAnswer } from './transport.js';

const valid = (schema: Parameters<typeof TypeCompiler.Compile>[0], value: unknown) =>
  TypeCompiler.Compile(schema).Check(value);

describe('the control plane API contract: requests', () => {
  it('refuses a join token for a name that is not a service name, or for too long', () => {
    expect(valid(JoinTokenRequest, { service: 'metadata' })).toBe(true);
    expect(valid(JoinTokenRequest, { service: 'metadata', ttlSeconds: 60 })).toBe(true);
    expect(valid(JoinTokenRequest, { service: 'Metadata' })).toBe(false);
    expect(valid(JoinTokenRequest, { service: '../control' })).toBe(false);
    expect(valid(JoinTokenRequest, { service: 'metadata', ttlSeconds: 0 })).toBe(false);
    expect(valid(JoinTokenRequest, { service: 'metadata', ttlSeconds: 8 * 24 * 3600 })).toBe(false);
  });

  it('refuses unknown keys in every request', () => {
    expect(valid(JoinTokenRequest, { service: 'metadata', admin: true })).toBe(false);
    expect(valid(IssueRequest, { csr: 'x', token: 't', service: 'control' })).toBe(false);
    expect(valid(RotateCaRequest, { which: 'root', force: true })).toBe(false);
    expect(valid(RegisterRequest, { address: '127.0.0.1', port: 1, id: 'mine' })).toBe(false);
  });

  it('refuses an empty or oversized CSR and token', () => {
    expect(valid(IssueRequest, { csr: '', token: 't' })).toBe(false);
    expect(valid(IssueRequest, { csr: 'x'.repeat(16_385), token: 't' })).toBe(false);
    expect(valid(IssueRequest, { csr: 'x', token: 't'.repeat(257) })).toBe(false);
  });

  it('revokes by hex serial or by service, never both, with a known reason', () => {
    expect(valid(RevokeRequest, { serial: '0x1f' })).toBe(true);
    expect(valid(RevokeRequest, { service: 'history', reason: 'keyCompromise' })).toBe(true);
    expect(valid(RevokeRequest, { serial: 'zz' })).toBe(false);
    expect(valid(RevokeRequest, { serial: '1f', service: 'history' })).toBe(false);
    expect(valid(RevokeRequest, { service: 'history', reason: 'because' })).toBe(false);
    expect(valid(RotateCaRequest, { which: 'leaf' })).toBe(false);
  });
});

describe('the control plane API contract: answers', () => {
  const call = CONTROL_ROUTES.revoke;

  it('decodes an answer of the contract, with keys a newer control plane may add', () => {
    const text = JSON.stringify({ version: 2, roots: ['r'], intermediates: [], added: 'later' });
    expect(decodeAnswer(CONTROL_ROUTES.bundle, 200, text, TrustBundle)).toMatchObject({ version: 2 });
  });

  it('refuses a 2xx body that is not the contract', () => {
    const wrong = () => decodeAnswer(CONTROL_ROUTES.bundle, 200, '{"roots":"not a list"}', TrustBundle);
    expect(wrong).toThrow(FlotillaError);
    expect(wrong).toThrow(/GET \/v1\/bundle with 200 and a body that is not the contract's/);
    expect(() => decodeAnswer(CONTROL_ROUTES.bundle, 200, 'not json', TrustBundle)).toThrow(
      expect.objectContaining({ code: 'FLT_UPSTREAM_FAILED' }),
    );
    expect(valid(IssuedCertificate, { certificate: 'c', chain: [], bundle: [], serial: 's' })).toBe(false);
  });

  it('rebuilds a refusal as the FlotillaError the control plane sent, naming the call', () => {
    const problem = { code: 'FLT_NOT_FOUND', status: 404, detail: 'no certificate with serial 1f' };
    const err = catchError(() => decodeAnswer(call, 404, JSON.stringify(problem), TrustBundle));
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err).toMatchObject({ code: 'FLT_NOT_FOUND', status: 404 });
    expect(err.message).toBe('control plane refused POST /v1/revocations: 404 no certificate with serial 1f');
  });

  it('trusts no status a peer picks: an unknown code or a body that is not a problem is an upstream failure', () => {
    const unknown = catchError(() => decodeAnswer(call, 418, '{"code":"TEAPOT"}', TrustBundle));
    expect(unknown).toMatchObject({ code: 'FLT_UPSTREAM_FAILED', status: 502 });
    expect(unknown.message).toBe('control plane refused POST /v1/revocations: 418 TEAPOT');
    const html = catchError(() => decodeAnswer(call, 500, '<html>', TrustBundle));
    expect(html).toMatchObject({ code: 'FLT_UPSTREAM_FAILED' });
  });
});

describe('the control plane API contract: where things are', () => {
  it('fills in an instance id, encoded', () => {
    expect(instancePath(CONTROL_ROUTES.deregister, 'a/b')).toBe('/v1/registry/instances/a%2Fb');
  });

  it('keeps the admin token under the home folder’s secrets', () => {
    expect(adminTokenPath('/srv/fleet')).toBe('/srv/fleet/secrets/admin-token');
  });

  it('does not ask for the admin token for calls that need none, and refuses one that does without it', async () => {
    const admin = new ControlAdminClient({ url: 'https://127.0.0.1:1', roots: '' });
    try {
      await expect(admin.createJoinToken('metadata')).rejects.toMatchObject({ code: 'FLT_UNAUTHENTICATED' });
      // The bundle needs no token: it fails on the connection instead (nothing listens on port 1).
      await expect(admin.bundle()).rejects.toMatchObject({ code: 'FLT_UNAVAILABLE' });
    } finally {
      await admin.close();
    }
    expect(() => new ControlAdminClient({ url: 'not a url', roots: '' })).toThrow(FlotillaError);
  });
});

function catchError(fn: () => unknown): FlotillaError {
  try {
    fn();
  } catch (err) {
    return err as FlotillaError;
  }
  throw new Error('expected an error');
}
