import { FlotillaError } from '@flotilla/errors';
import {
  generateKeyAndCsr,
  ManualIdentity,
  MtlsClient,
  serviceSpiffeId,
  type TlsMaterial,
} from '@flotilla/kit';
import { AuthAdminClient } from '@flotilla/kit/contracts';
import type { Args } from '../cli/spec.js';
import { readState } from '../up/fleet-state.js';
import { openControl } from './connect.js';

/**
 * The workload identity the operator's tools act as. The fleet's Cedar policies open the
 * auth service's admin API to this identity only (`policies/services.cedar`).
 */
export const OPERATOR = 'operator';

/** A join token for the operator lives only as long as it takes to use it. */
const JOIN_TOKEN_TTL_SECONDS = 60;

/** What an operator's command is given: its mTLS client and where the fleet's services are. */
export interface OperatorSession {
  /** The kit's mTLS client as `operator` (it checks each peer's SPIFFE ID). */
  mtls: MtlsClient;
  /** A service's URL: `FLOTILLA_<SERVICE>_URL`, else the running fleet's `<home>/fleet.json`. */
  urlOf: (service: string) => Promise<string>;
}

/**
 * Runs `use` as the `operator` workload over mTLS: the admin token buys a one-time join
 * token for `operator` at the control plane, a key pair is generated in this process (it
 * never leaves it), and the CA signs a short-lived certificate for it. The fleet's Cedar
 * policies decide what `operator` may call (the auth admin API, the KMS's key
 * administration, …); each service audits the calls with that identity.
 *
 * @example
 * await withOperator(args, async ({ mtls, urlOf }) => { … });
 */
export async function withOperator<T>(args: Args, use: (session: OperatorSession) => Promise<T>): Promise<T> {
  const control = await openControl(args);
  let mtls: MtlsClient | undefined;
  try {
    const material = await operatorMaterial(control);
    mtls = new MtlsClient(new ManualIdentity(control.trustDomain, material));
    return await use({ mtls, urlOf: (service) => serviceUrl(control.home, service) });
  } finally {
    await mtls?.close();
    await control.client.close();
  }
}

/**
 * Runs `use` with a client of the auth service's admin API, as the `operator` workload
 * ({@link withOperator}). The client checks that it talks to `svc/auth`.
 *
 * @example
 * await asOperator(args, async (admin) => console.log(await admin.listUsers()));
 */
export function asOperator<T>(args: Args, use: (admin: AuthAdminClient) => Promise<T>): Promise<T> {
  return withOperator(args, async ({ mtls, urlOf }) =>
    use(new AuthAdminClient({ url: await urlOf('auth'), mtls })),
  );
}

async function operatorMaterial(control: Awaited<ReturnType<typeof openControl>>): Promise<TlsMaterial> {
  const spiffeId = serviceSpiffeId(control.trustDomain, OPERATOR);
  const { token } = await control.client.createJoinToken(OPERATOR, JOIN_TOKEN_TTL_SECONDS);
  const { keyPem, csrPem } = await generateKeyAndCsr(OPERATOR, spiffeId);
  const issued = await control.client.signCertificate(csrPem, token);
  return {
    key: keyPem,
    cert: [issued.certificate, ...issued.chain].join('\n'),
    ca: control.roots,
    spiffeId: issued.spiffeId,
    serial: issued.serial,
    notBefore: new Date(),
    notAfter: new Date(issued.notAfter),
  };
}

/** A service of the running fleet: `FLOTILLA_<SERVICE>_URL`, else `<home>/fleet.json`. */
async function serviceUrl(home: string, service: string): Promise<string> {
  const fromEnv = process.env[`FLOTILLA_${service.toUpperCase().replaceAll('-', '_')}_URL`];
  if (fromEnv) return fromEnv;
  const state = await readState(home).catch(() => undefined);
  const found = state?.processes.find((p) => p.service === service);
  if (found) return found.url;
  throw new FlotillaError(
    'FLT_UNAVAILABLE',
    `no ${service} service found: start the fleet ("flotilla up") or set FLOTILLA_${service.toUpperCase().replaceAll('-', '_')}_URL`,
  );
}
