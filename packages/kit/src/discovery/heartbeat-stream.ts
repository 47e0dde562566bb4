import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { CONTROL_ROUTES, HEARTBEATS_MEDIA_TYPE, instancePath } from '../contracts/control-api/routes.js';
import type { MtlsClient } from '../identity/mtls-client.js';

const BEAT = Buffer.from('\n');

export interface HeartbeatStreamOptions {
  /** Heartbeats in this stream. */
  beats: number;
  intervalMs: number;
  /** Aborts the stream (deregistration, shutdown). */
  signal: AbortSignal;
}

/**
 * One heartbeat stream: `PUT /v1/registry/instances/:id/heartbeats` whose body is a `\n`
 * at once and then every `intervalMs`, `beats` in all; the body ends when the one after the
 * last is due, so that the next stream's first `\n` is that heartbeat. Resolves with the
 * registry's status once it answers: 204 at the end, or early when it refuses a beat
 * (404: it forgot the instance; 503: it is shutting down).
 */
export async function streamHeartbeats(
  client: MtlsClient,
  controlUrl: string,
  id: string,
  opts: HeartbeatStreamOptions,
): Promise<number> {
  const answered = new AbortController();
  const signal = AbortSignal.any([opts.signal, answered.signal]);
  async function* body() {
    try {
      yield BEAT; // at once: the request's headers go out with the first heartbeat
      for (let i = 1; i < opts.beats; i++) {
        await sleep(opts.intervalMs, undefined, { signal });
        yield BEAT;
      }
      await sleep(opts.intervalMs, undefined, { signal });
    } catch {
      // Aborted: end the body; the request itself reports why.
    }
  }
  try {
    const res = await request(new URL(instancePath(CONTROL_ROUTES.heartbeats, id), controlUrl), {
      method: 'PUT',
      headers: { 'content-type': HEARTBEATS_MEDIA_TYPE },
      body: Readable.from(body(), { objectMode: false }),
      dispatcher: client.agentFor('control'),
      // The answer comes when the stream ends; beyond that, the usual few seconds.
      headersTimeout: opts.beats * opts.intervalMs + 5_000,
      bodyTimeout: 5_000,
      signal: opts.signal,
    });
    await res.body.dump();
    return res.statusCode;
  } finally {
    answered.abort();
  }
}
