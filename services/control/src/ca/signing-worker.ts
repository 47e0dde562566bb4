// A signing worker (see signing-pool.ts): checks a CSR and signs the leaf off the main
// thread, with exactly the code the main thread would run. It holds the issuers' keys it
// was sent (in memory only, as the main thread does).
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
// The errors package alone: this file runs in the signing workers, which must not load the whole kit.
import { FlotillaError } from '@flotilla/errors';
import { EC_P256, x509 } from '../x509.js';
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
      // The worker signs leaves only (node:crypto, signingKey); the WebCrypto form is for
      // the shape's sake, and as unextractable as on the main thread.
      key: (msg.key as KeyObject).toCryptoKey(EC_P256, false, ['sign']),
      signingKey: msg.key as KeyObject,
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
