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

/**
 * Runs `use` with a client of the auth service's admin API, over mTLS as the `operator`
 * workload: the admin token buys a one-time join token for `operator` at the control plane,
 * a key pair is generated in this process (it never leaves it), and the CA signs a
 * short-lived certificate for it. The client checks that it talks to `svc/auth`.
 *
 * @example
 * await asOperator(args, async (admin) => console.log(await admin.listUsers()));
 */
export async function asOperator<T>(args: Args, use: (admin: AuthAdminClient) => Promise<T>): Promise<T> {
  const control = await openControl(args);
  let mtls: MtlsClient | undefined;
  try {
    const material = await operatorMaterial(control);
    mtls = new MtlsClient(new ManualIdentity(control.trustDomain, material));
    return await use(new AuthAdminClient({ url: await authUrl(control.home), mtls }));
  } finally {
    await mtls?.close();
    await control.client.close();
  }
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

/** The auth service of the running fleet: `FLOTILLA_AUTH_URL`, else `<home>/fleet.json`. */
async function authUrl(home: string): Promise<string> {
  const fromEnv = process.env.FLOTILLA_AUTH_URL;
  if (fromEnv) return fromEnv;
  const state = await readState(home).catch(() => undefined);
  const auth = state?.processes.find((p) => p.service === 'auth');
  if (auth) return auth.url;
  throw new FlotillaError(
    'FLT_UNAVAILABLE',
    `no auth service found: start the fleet ("flotilla up") or set FLOTILLA_AUTH_URL`,
  );
}
