import type { PeerCertificate } from 'node:tls';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Agent, type Dispatcher, request } from 'undici';
import { FlotillaError } from '../../errors/index.js';
import { checkPeer } from '../../identity/check-peer.js';
import { serviceSpiffeId } from '../../identity/spiffe.js';

/** What a connection to the control plane presents and trusts. */
export interface ControlTls {
  /** PEM of the roots that vouch for the control plane. */
  ca: string;
  /** The caller's certificate chain and key (a workload); absent to join, or for the operator. */
  cert?: string;
  key?: string;
}

/** One call: the route's method, the path (with its query), a JSON body, extra headers. */
export interface ControlCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Time to wait for the answer's headers (and then its body); default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * A connection pool to the control plane that trusts `tls.ca` and accepts only the
 * control plane's own SPIFFE id (`spiffe://<trust-domain>/svc/control`): a certificate
 * from the same CA for another service is refused.
 */
export function controlAgent(trustDomain: string, tls: ControlTls): Agent {
  const expected = serviceSpiffeId(trustDomain, 'control');
  return new Agent({
    connect: {
      ca: tls.ca,
      ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkPeer(cert, expected),
    },
    connectTimeout: 5_000,
  });
}

/**
 * Sends one call and reads the answer whole (the control plane's answers are small).
 * A failure to connect or to read is `FLT_UNAVAILABLE` (retryable), naming the cause.
 */
export async function sendControl(
  dispatcher: Dispatcher,
  baseUrl: string,
  call: ControlCall,
): Promise<{ status: number; headers: Dispatcher.ResponseData['headers']; bytes: Uint8Array }> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const timeout = call.timeoutMs ?? 10_000;
  try {
    const res = await request(new URL(call.path, baseUrl), {
      method: call.method,
      dispatcher,
      headers: {
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...call.headers,
      },
      body: payload,
      headersTimeout: timeout,
      bodyTimeout: 10_000,
      signal: call.signal,
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      bytes: new Uint8Array(await res.body.arrayBuffer()),
    };
  } catch (err) {
    throw new FlotillaError(
      'FLT_UNAVAILABLE',
      `cannot reach the control plane at ${baseUrl} (${call.method} ${call.path}): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Sends one call and decodes its answer against `answer` (see `decodeAnswer`). */
export async function callControl<T extends TSchema>(
  dispatcher: Dispatcher,
  baseUrl: string,
  call: ControlCall,
  answer: T,
): Promise<Static<T>> {
  const res = await sendControl(dispatcher, baseUrl, call);
  return decodeAnswer(call, res.status, new TextDecoder().decode(res.bytes), answer);
}

/**
 * A 2xx answer must be JSON of the contract's shape; anything else is the control plane's
 * refusal, rebuilt from its problem+json as the `FlotillaError` it sent (RFC 9457: the
 * stable `code` travels, a code we do not know becomes `FLT_UPSTREAM_FAILED`). The message
 * names the call and the status, for an operator reading one line.
 */
export function decodeAnswer<T extends TSchema>(
  call: Pick<ControlCall, 'method' | 'path'>,
  status: number,
  text: string,
  answer: T,
): Static<T> {
  const json = parseJson(text);
  if (status < 200 || status >= 300) throw refusal(call, status, json);
  if (!matches(answer, json)) {
    throw new FlotillaError(
      'FLT_UPSTREAM_FAILED',
      `control plane answered ${call.method} ${call.path} with ${status} and a body that is not the contract's`,
    );
  }
  return json;
}

/** The error a non-2xx answer stands for. */
export function refusal(
  call: Pick<ControlCall, 'method' | 'path'>,
  status: number,
  problem: unknown,
): FlotillaError {
  const body = (typeof problem === 'object' && problem !== null ? problem : {}) as Record<string, unknown>;
  const said = typeof body.detail === 'string' ? body.detail : typeof body.code === 'string' ? body.code : '';
  const path = call.path.split('?')[0] ?? call.path;
  return FlotillaError.fromProblem({
    ...body,
    detail: `control plane refused ${call.method} ${path}: ${status}${said ? ` ${said}` : ''}`,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const checks = new Map<TSchema, ReturnType<typeof TypeCompiler.Compile>>();

function matches<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  let check = checks.get(schema);
  if (!check) checks.set(schema, (check = TypeCompiler.Compile(schema)));
  return check.Check(value);
}
