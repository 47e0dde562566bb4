import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { x509 } from '@flotilla/kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, join, openssl, startTestControl, type TestControl, writeFiles } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Rotation with overlapping bundles: nothing that verified before a rotation stops verifying.
describe('CA rotation', () => {
  let control: TestControl;
  let dir: string;

  beforeAll(async () => {
    control = await startTestControl({
      FLOTILLA_CERT_TTL_SECONDS: '5',
      CONTROL_ROOT_ACTIVATION_SECONDS: '2',
    });
    dir = await mkdtemp(joinPath(tmpdir(), 'flotilla-rotation-'));
  });
  afterAll(async () => {
    await control?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const rotate = (which: 'intermediate' | 'root') =>
    call(control, 'POST', '/v1/ca/rotate', { which }, { admin: control.adminToken });

  async function verify(leafPem: string, roots: string[], name: string): Promise<boolean> {
    const bundle = control.bundle();
    await writeFiles(dir, {
      [`${name}.pem`]: leafPem,
      [`${name}-roots.pem`]: roots.join(''),
      [`${name}-ints.pem`]: bundle.intermediates.join(''),
    });
    const res = await openssl(
      ['verify', '-CAfile', `${name}-roots.pem`, '-untrusted', `${name}-ints.pem`, `${name}.pem`],
      dir,
    );
    return res.code === 0;
  }

  it('rotates the intermediate, old and new leaves both verifying against the bundle', async () => {
    const v0 = control.bundle().version;
    const old = await join(control, 'videos');
    const res = await rotate('intermediate');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.bundle.version).toBeGreaterThan(v0);
    expect(res.body.bundle.intermediates).toHaveLength(2);
    const fresh = await join(control, 'videos');
    expect(fresh.chain[0]).not.toBe(old.chain[0]);
    const roots = control.bundle().roots;
    expect(await verify(old.certificate, roots, 'old')).toBe(true);
    expect(await verify(fresh.certificate, roots, 'fresh')).toBe(true);
  });

  it('publishes a new root before anything chains to it, then retires the old CAs', async () => {
    const before = control.bundle();
    const [oldRoot] = before.roots;
    const res = await rotate('root');
    expect(res.status).toBe(200);
    const during = control.bundle();
    expect(during.version).toBeGreaterThan(before.version);
    expect(during.roots).toHaveLength(2);
    const newRoot = during.roots.find((r) => r !== oldRoot)!;

    // Still issued under the old root: peers may not have the new bundle yet.
    const early = await join(control, 'videos');
    expect(await verify(early.certificate, [oldRoot!], 'early')).toBe(true);
    expect(await verify(early.certificate, [newRoot], 'early-new')).toBe(false);
    expect(early.bundle).toHaveLength(2);

    await sleep(2100);
    const late = await join(control, 'videos');
    expect(await verify(late.certificate, [newRoot], 'late')).toBe(true);
    expect(await verify(late.certificate, [oldRoot!], 'late-old')).toBe(false);
    expect(await verify(late.certificate, during.roots, 'late-both')).toBe(true);

    // Once every leaf under the old root has expired, it leaves the bundle.
    await control.ca.tick();
    expect(control.bundle().roots).toHaveLength(2);
    await sleep(new Date(early.notAfter).getTime() - Date.now() + 3000);
    await control.ca.tick();
    const after = control.bundle();
    expect(after.roots).toEqual([newRoot]);
    expect(after.intermediates).toHaveLength(1);
    expect(after.version).toBeGreaterThan(during.version);
    const issuer = new x509.X509Certificate(after.intermediates[0]!);
    expect(issuer.issuer).toBe(new x509.X509Certificate(newRoot).subject);
    const { body } = await call(control, 'GET', '/v1/bundle');
    expect(body).toEqual(after);
  }, 30_000);
});
