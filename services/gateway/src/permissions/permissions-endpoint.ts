import { text } from 'node:stream/consumers';
import { FlotillaError } from '@flotilla/kit';
import { BodyTooLargeError, limitBody } from '../edge/body-limit.js';
import type { Exchange } from '../pipeline/exchange.js';
import { refuse } from '../pipeline/refusals.js';
import { parseQuestions } from './permission-questions.js';
import { wouldAllow } from './would-allow.js';

const JSON_TYPE = /^application\/json\s*(?:;|$)/i;

/**
 * Answers `POST /api/permissions` once the pipeline has let it through (authenticated, not
 * revoked, allowed by policy, within the caller's quotas): for each request asked about,
 * whether the gateway would let the caller make it (`would-allow.ts`), in the order asked.
 * Nothing is forwarded: the answer depends on the routes, the caller and the policies
 * only, never on an upstream or on an object. Not audited (a read); counted in
 * `gateway_permission_checks_total`.
 */
export function answerPermissions(x: Exchange): void {
  const type = x.request.headers['content-type'];
  if (typeof type !== 'string' || !JSON_TYPE.test(type)) {
    return refuse(
      x.outcome,
      'bad-request',
      new FlotillaError('FLT_MEDIA_TYPE', 'send the requests as application/json'),
    );
  }
  x.wait(readBody(x).then((body) => answer(x, body)));
}

/** The body, through the route's body limit (413 past it; a declared length over it was refused already). */
async function readBody(x: Exchange): Promise<string> {
  const raw = x.request.raw;
  const limiter = limitBody(x.route.config.bodyLimit ?? x.deps.bodyLimit);
  // The client leaving mid-body fails the read rather than leaving it pending.
  raw.once('error', (err) => limiter.destroy(err));
  raw.pipe(limiter);
  try {
    return await text(limiter);
  } catch (err) {
    if (err instanceof BodyTooLargeError) x.outcome.decision = 'body-too-large';
    throw err;
  }
}

async function answer(x: Exchange, body: string): Promise<void> {
  let questions;
  try {
    questions = parseQuestions(body);
  } catch (err) {
    x.outcome.decision = 'bad-request';
    throw err;
  }
  const allowed = await Promise.all(
    questions.map(async (q) => wouldAllow(x.deps, x.principal, x.ip, q.method, q.path)),
  );
  const yes = allowed.filter(Boolean).length;
  if (yes > 0) x.deps.metrics.permissionChecks.inc({ allowed: 'true' }, yes);
  if (yes < allowed.length) x.deps.metrics.permissionChecks.inc({ allowed: 'false' }, allowed.length - yes);
  const results = questions.map((q, i) => ({ method: q.method, path: q.path, allowed: allowed[i]! }));
  x.reply
    .code(200)
    .headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ results }));
}
