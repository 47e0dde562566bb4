import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { x509 } from '@flotilla/kit';
import { describe, expect, it } from 'vitest';
import { join, spiffe, startTestControl } from './helpers.js';

// `flotilla up` signs on the event loop (CONTROL_SIGNING_WORKERS=0): a fleet on one
// machine needs a few certificates, and a worker would first load the CA through tsx.
describe('CONTROL_SIGNING_WORKERS', () => {
  it('0 signs on the event loop: certificates are issued as with workers', async () => {
    const control = await startTestControl({ CONTROL_SIGNING_WORKERS: '0' });
    try {
      expect(control.ca.signingWorkers).toBe(0);
      const issued = await join(control, 'history');
      const leaf = new x509.X509Certificate(issued.certificate);
      const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
      expect(san?.names.items.map((n) => n.value)).toContain(spiffe('history'));
    } finally {
      await control.cleanup();
    }
  });

  it('sets the size of the signing pool', async () => {
    const control = await startTestControl({ CONTROL_SIGNING_WORKERS: '2' });
    try {
      expect(control.ca.signingWorkers).toBe(2);
      expect((await join(control, 'history')).serial).toMatch(/^[0-9a-f]+$/);
    } finally {
      await control.cleanup();
    }
  });

  it.each(['-1', '17', 'two'])('refuses %s with the setting named', async (value) => {
    const home = await mkdtemp(joinPath(tmpdir(), 'flotilla-control-'));
    try {
      await expect(startTestControl({ CONTROL_SIGNING_WORKERS: value }, { home })).rejects.toThrow(
        /CONTROL_SIGNING_WORKERS/,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
