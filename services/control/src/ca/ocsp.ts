import { createHash, sign } from 'node:crypto';
import { FlotillaError, normaliseSerial } from '@flotilla/kit';
import type { CertID } from '@peculiar/asn1-ocsp';
import {
  BasicOCSPResponse,
  CertStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  KeyHash,
  OCSPRequest,
  OCSPResponse,
  OCSPResponseStatus,
  ResponderID,
  ResponseBytes,
  ResponseData,
  RevokedInfo,
  SingleResponse,
} from '@peculiar/asn1-ocsp';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, CRLReason, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type { Authority } from './authority.js';

const HASHES: Record<string, 'sha1' | 'sha256' | 'sha384' | 'sha512'> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** What the responder knows about one serial under one CA. */
export type CertState =
  { status: 'good' } | { status: 'unknown' } | { status: 'revoked'; at: Date; reason: number | null };

export interface OcspDeps {
  /** The CAs to answer for. */
  authorities(): readonly Authority[];
  status(issuer: Authority, serial: string): Promise<CertState>;
  /** Validity of an answer (nextUpdate − thisUpdate). */
  lifetimeMs: number;
}

interface IssuerHashes {
  authority: Authority;
  name: Buffer;
  key: Buffer;
}

/**
 * An OCSP responder (RFC 6960). Each answer is signed by the CA that issued the
 * certificate asked about (§4.2.2.2 case 1), so relying parties need no extra trust.
 */
export class OcspResponder {
  constructor(private readonly deps: OcspDeps) {}

  /** Answers a DER OCSPRequest with a DER OCSPResponse; never throws. */
  async respond(der: Uint8Array): Promise<Buffer> {
    let request: OCSPRequest;
    try {
      request = AsnConvert.parse(der, OCSPRequest);
      if (request.tbsRequest.requestList.length === 0)
        throw new FlotillaError('FLT_BAD_REQUEST', 'empty request list');
    } catch {
      return statusOnly(OCSPResponseStatus.malformedRequest); // RFC 6960 §2.3
    }
    try {
      return await this.answer(request);
    } catch {
      return statusOnly(OCSPResponseStatus.internalError);
    }
  }

  private async answer(request: OCSPRequest): Promise<Buffer> {
    const now = wholeSeconds(new Date());
    const nextUpdate = new Date(now.getTime() + this.deps.lifetimeMs);
    const matches = request.tbsRequest.requestList.map((r) => ({
      certId: r.reqCert,
      issuer: this.findIssuer(r.reqCert),
    }));
    const signer = matches.find((m) => m.issuer)?.issuer;
    // §2.3: "unauthorized" when we are not the responder for that CA.
    if (!signer) return statusOnly(OCSPResponseStatus.unauthorized);

    const responses: SingleResponse[] = [];
    for (const { certId, issuer } of matches) {
      const state: CertState =
        issuer === signer
          ? await this.deps.status(signer, normaliseSerial(Buffer.from(certId.serialNumber).toString('hex')))
          : { status: 'unknown' };
      responses.push(
        new SingleResponse({ certID: certId, certStatus: toCertStatus(state), thisUpdate: now, nextUpdate }),
      );
    }
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === id_pkix_ocsp_nonce);
    const data = new ResponseData({
      // §4.2.2.3: KeyHash is the SHA-1 of the responder's public key BIT STRING.
      responderID: new ResponderID({ byKey: new KeyHash(subjectKeyBits(signer, 'sha1')) }),
      producedAt: now,
      responses,
      // RFC 8954 §2.1: echo the client's nonce so it can detect a replay.
      ...(nonce ? { responseExtensions: [nonce] } : {}),
    });
    const tbs = AsnConvert.serialize(data);
    const signature = sign('sha256', Buffer.from(tbs), {
      key: signer.signingKey,
      dsaEncoding: 'der',
    });
    const basic = new BasicOCSPResponse({
      tbsResponseData: data,
      signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
      signature: new Uint8Array(signature).buffer,
      certs: [AsnConvert.parse(signer.cert.rawData, Certificate)],
    });
    return Buffer.from(
      AsnConvert.serialize(
        new OCSPResponse({
          responseStatus: OCSPResponseStatus.successful,
          responseBytes: new ResponseBytes({
            responseType: id_pkix_ocsp_basic,
            response: new OctetString(AsnConvert.serialize(basic)),
          }),
        }),
      ),
    );
  }

  private findIssuer(certId: CertID): Authority | undefined {
    const hash = HASHES[certId.hashAlgorithm.algorithm];
    if (!hash) return undefined;
    const name = Buffer.from(certId.issuerNameHash.buffer);
    const key = Buffer.from(certId.issuerKeyHash.buffer);
    return this.deps
      .authorities()
      .map((a) => hashesOf(a, hash))
      .find((h) => h.name.equals(name) && h.key.equals(key))?.authority;
  }
}

const hashCache = new WeakMap<Authority, Map<string, IssuerHashes>>();

// RFC 6960 §4.1.1: issuerNameHash over the DER of the issuer's name, issuerKeyHash over
// the value of its subjectPublicKey BIT STRING.
function hashesOf(authority: Authority, hash: string): IssuerHashes {
  let byHash = hashCache.get(authority);
  if (!byHash) {
    byHash = new Map<string, IssuerHashes>();
    hashCache.set(authority, byHash);
  }
  let hashes = byHash.get(hash);
  if (!hashes) {
    hashes = {
      authority,
      name: createHash(hash).update(Buffer.from(authority.cert.subjectName.toArrayBuffer())).digest(),
      key: subjectKeyBits(authority, hash),
    };
    byHash.set(hash, hashes);
  }
  return hashes;
}

function subjectKeyBits(authority: Authority, hash: string): Buffer {
  const spki = AsnConvert.parse(authority.cert.publicKey.rawData, SubjectPublicKeyInfo);
  return createHash(hash).update(Buffer.from(spki.subjectPublicKey)).digest();
}

function toCertStatus(state: CertState): CertStatus {
  switch (state.status) {
    case 'good':
      return new CertStatus({ good: null });
    case 'unknown':
      return new CertStatus({ unknown: null });
    case 'revoked':
      return new CertStatus({
        revoked: new RevokedInfo({
          revocationTime: wholeSeconds(state.at),
          ...(state.reason !== null && state.reason !== 0
            ? { revocationReason: new CRLReason(state.reason) }
            : {}),
        }),
      });
  }
}

function statusOnly(status: OCSPResponseStatus): Buffer {
  return Buffer.from(AsnConvert.serialize(new OCSPResponse({ responseStatus: status })));
}

// GeneralizedTime without fractions, as RFC 5280 §4.1.2.5.2 asks of certificates.
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
