// A signing worker (see signing-pool.ts): checks a CSR and signs the leaf off the main
// thread, with exactly the code the main thread would run. It holds the issuers' keys it
// was sent (in memory only, as the main thread does).
import { parentPort } from 'node:worker_threads';
// The errors entry alone: this file runs in the signing workers too, which must not load the whole kit.
import { FlotillaError } from '@flotilla/errors';
import { type CryptoKey, x509 } from '../x509.js';
import type { Authority } from './authority.js';
import { checkCsr, CsrError, parseCsr } from './csr-check.js';
import { signLeafSync } from './issue.js';
import { forgetOldIssuers, type SignJob, type WorkerReply, type WorkerRequest } from './signing-protocol.js';

const issuers = new Map<string, Authority>();

function sign(job: SignJob): WorkerReply {
  try {
    const issuer = issuers.get(job.issuerId);
    if (!issuer) throw new FlotillaError('FLT_INTERNAL', `signing worker has no issuer ${job.issuerId}`);
    const checked = checkCsr(parseCsr(job.csrPem), job.service, job.trustDomain);
    const leaf = signLeafSync(
      {
        publicKey: checked.spki,
        service: job.service,
        trustDomain: job.trustDomain,
        issuer,
        ttlSeconds: job.ttlSeconds,
        publicUrl: job.publicUrl,
        now: new Date(job.now),
      },
      checked.spki,
    );
    return { id: job.id, leaf: { ...leaf, der: new Uint8Array(leaf.der) } };
  } catch (err) {
    if (err instanceof CsrError) return { id: job.id, refused: { reason: err.reason, message: err.message } };
    return { id: job.id, failed: err instanceof Error ? err.message : String(err) };
  }
}

parentPort?.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'issuer') {
    issuers.set(msg.id, {
      id: msg.id,
      kind: 'intermediate',
      parentId: null,
      cert: new x509.X509Certificate(msg.certPem),
      pem: msg.certPem,
      key: msg.key as CryptoKey,
      keyId: msg.keyId,
      notAfter: new Date(msg.notAfter),
      createdAt: new Date(0),
      activatesAt: new Date(0),
      retiredAt: null,
    });
    forgetOldIssuers(issuers);
    return;
  }
  parentPort?.postMessage(sign(msg));
});
