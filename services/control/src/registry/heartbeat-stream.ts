import type { Readable } from 'node:stream';
import { FlotillaError, type Peer, type ServiceApp } from '@flotilla/kit';
import { CONTROL_ROUTES, HEARTBEATS_MEDIA_TYPE, InstanceParams } from '@flotilla/kit/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RegisteredInstance, Registry } from './registry.js';

const BEAT = 0x0a;

export interface HeartbeatStreamDeps {
  registry: Registry;
  heartbeatSeconds: number;
  /** How long a client keeps one stream open (advertised at registration). */
  streamSeconds: number;
  /** Refuses a caller whose certificate was revoked while its stream was open. */
  isRevoked: (serial: string) => boolean;
}

interface OpenStream {
  end: (err?: FlotillaError) => void;
}

/**
 * Heartbeats as one streamed request instead of one request each. A kit instance opens
 * `PUT /v1/registry/instances/:id/heartbeats` and writes a `\n` at once and then every
 * heartbeat interval for `streamSeconds`, then ends the body and opens the next one. Each
 * `\n` is a heartbeat (a PUT without a body is one heartbeat too). The open goes through
 * everything a request does (mTLS peer, revocation, the Cedar decision, ownership of the
 * instance), and every beat is then checked again against what can change under an open
 * connection: the instance still exists and belongs to the caller's service, and the
 * caller's certificate is not revoked (the kit also cuts revoked connections at once). A
 * policy change takes effect at the next open, within `streamSeconds`.
 *
 * What it saves per heartbeat is the response (a TLS record and a socket write) and the
 * request pipeline (routing, hooks, trace and request ids, the policy lookup, logging).
 */
export function heartbeatStreamRoute(
  app: ServiceApp,
  deps: HeartbeatStreamDeps,
  owned: (req: FastifyRequest, id: string, action: string) => Promise<RegisteredInstance>,
  requirePeer: (req: FastifyRequest) => Peer,
): void {
  const { registry } = deps;
  const streams: Streams = {
    deps,
    // A client sends one beat a second at most for streamSeconds; anything far beyond is abuse.
    maxBytes: Math.max(64, 4 * Math.ceil(deps.streamSeconds / deps.heartbeatSeconds)),
    // The server ends a stream that outlives what the client said it would do.
    maxOpenMs: (deps.streamSeconds + 2 * deps.heartbeatSeconds + 5) * 1000,
    open: new Set<OpenStream>(),
  };

  // Drain at shutdown: a heartbeat stream would otherwise hold the server open until it ends.
  app.addHook('preClose', async () => {
    for (const stream of streams.open)
      stream.end(new FlotillaError('FLT_UNAVAILABLE', 'the control plane is shutting down'));
  });

  void app.register(async (scope) => {
    // The body is read as it arrives, not buffered: hand the handler the raw stream.
    scope.addContentTypeParser(HEARTBEATS_MEDIA_TYPE, (_req, payload, done) => done(null, payload));
    scope.put<{ Params: { id: string } }>(
      CONTROL_ROUTES.heartbeats.path,
      { schema: { params: InstanceParams } },
      async (req, reply) => {
        const peer = requirePeer(req);
        const instance = await owned(req, req.params.id, 'registry.heartbeat');
        const body = req.body as Readable | undefined;
        if (!body || typeof body.on !== 'function') {
          if (req.headers['content-type'] !== undefined)
            throw new FlotillaError('FLT_MEDIA_TYPE', `send ${HEARTBEATS_MEDIA_TYPE}`);
          registry.beat(instance); // no body: one heartbeat, as PUT …/heartbeat
          return reply.code(204).send();
        }
        await follow(streams, body, reply, { id: instance.id, peer });
        return reply;
      },
    );
  });
}

/** The open heartbeat streams, and their limits. */
interface Streams {
  deps: HeartbeatStreamDeps;
  maxBytes: number;
  maxOpenMs: number;
  open: Set<OpenStream>;
}

/**
 * Reads one stream to its end: a beat per chunk of `\n`s, each checked against the
 * instance's owner and the caller's revocation; 204 when the client ends it, an error
 * (and the connection closed) when a check fails or it stays open too long.
 */
function follow(
  streams: Streams,
  body: Readable,
  reply: FastifyReply,
  { id, peer }: { id: string; peer: Peer },
): Promise<void> {
  const { deps, maxBytes, maxOpenMs, open } = streams;
  const { registry } = deps;
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    const stream: OpenStream = {
      end(err) {
        if (!open.delete(stream)) return;
        clearTimeout(timer);
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', onError);
        body.off('close', onError);
        if (!err) {
          void reply.code(204).send();
          resolve();
          return;
        }
        // The client is still sending: answer now and close the connection.
        void reply.header('connection', 'close');
        reject(err);
      },
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes)
        return stream.end(new FlotillaError('FLT_BODY_TOO_LARGE', 'too many heartbeats in one stream'));
      for (let i = 0; i < chunk.length; i++)
        if (chunk[i] !== BEAT)
          return stream.end(new FlotillaError('FLT_BAD_REQUEST', 'a heartbeat stream carries only "\\n"'));
      const current = registry.get(id);
      if (!current || current.service !== peer.service)
        return stream.end(new FlotillaError('FLT_NOT_FOUND', `instance ${id} is not registered`));
      if (deps.isRevoked(peer.serial))
        return stream.end(new FlotillaError('FLT_FORBIDDEN', 'client certificate is revoked'));
      // One beat per `\n`; a chunk that carries several (sent close together) counts once.
      registry.beat(current);
    };
    const onEnd = () => stream.end();
    // The client went away mid-stream: nothing to answer, the TTL takes it from here.
    const onError = () => {
      if (!open.delete(stream)) return;
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(
      () => stream.end(new FlotillaError('FLT_BAD_REQUEST', 'heartbeat stream open for too long')),
      maxOpenMs,
    );
    timer.unref();
    open.add(stream);
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onError);
  });
}
