import { FlotillaError, type Peer, peerOf, type ServiceApp, type ServiceContext } from '@flotilla/kit';
import { CONTROL_ROUTES, InstanceParams, RegisterRequest } from '@flotilla/kit/contracts';
import type { FastifyRequest } from 'fastify';
import { heartbeatStreamRoute } from './heartbeat-stream.js';
import {
  isReady,
  publicView,
  type RegisteredInstance,
  type Registry,
  type RegistryEvent,
} from './registry.js';

export interface RegistryRouteDeps {
  registry: Registry;
  isAllowedAddress: (address: string) => boolean;
  heartbeatSeconds: number;
  ttlSeconds: number;
  /** Length of one heartbeat stream offered to clients; 0 offers none (one request per heartbeat). */
  heartbeatStreamSeconds: number;
  isRevoked: (serial: string) => boolean;
  /** True when the request carries the operator's admin token (read-only listing for the CLI). */
  isAdmin: (request: FastifyRequest) => boolean;
}

const KEEPALIVE_MS = 5_000;

/** What the registry's routes share: the checks of who calls, and the audit of refusals. */
interface RegistryRoutes {
  app: ServiceApp;
  ctx: ServiceContext;
  deps: RegistryRouteDeps;
  requirePeer: (request: FastifyRequest) => Peer;
  refuse: (peer: Peer, action: string, target: string, reason: string) => Promise<never>;
  /** The instance `id`, if it belongs to the caller's service (else refused and audited). */
  owned: (request: FastifyRequest, id: string, action: string) => Promise<RegisteredInstance>;
}

/**
 * The registry's API. Every write is made as the identity in the caller's
 * certificate: a service registers, heartbeats and removes only its own instances.
 */
export function registryRoutes(app: ServiceApp, ctx: ServiceContext, deps: RegistryRouteDeps): void {
  const { registry } = deps;
  const requirePeer = (request: FastifyRequest): Peer => {
    const peer = peerOf(request);
    if (!peer) throw new FlotillaError('FLT_UNAUTHENTICATED', 'a client certificate is required');
    return peer;
  };
  const refuse = async (peer: Peer, action: string, target: string, reason: string): Promise<never> => {
    await ctx.audit({ actor: peer.id, action, target, outcome: 'denied', reason });
    throw new FlotillaError('FLT_FORBIDDEN', reason);
  };
  const owned = async (req: FastifyRequest, id: string, action: string) => {
    const peer = requirePeer(req);
    const instance = registry.get(id);
    if (!instance) throw new FlotillaError('FLT_NOT_FOUND', `instance ${id} is not registered`);
    if (instance.service !== peer.service) {
      await refuse(
        peer,
        action,
        `instance/${instance.id}`,
        `instance ${instance.id} belongs to ${instance.service}`,
      );
    }
    return instance;
  };
  const routes: RegistryRoutes = { app, ctx, deps, requirePeer, refuse, owned };
  registerRoute(routes);
  heartbeatRoutes(routes);
  deregisterRoute(routes);
  listRoute(routes);
  watchRoute(routes);
}

function registerRoute({ app, ctx, deps, requirePeer, refuse }: RegistryRoutes): void {
  const { registry } = deps;
  app.post(CONTROL_ROUTES.register.path, { schema: { body: RegisterRequest } }, async (req, reply) => {
    const peer = requirePeer(req);
    const { service, address, port, version, metadata } = req.body;
    if (service !== undefined && service !== peer.service) {
      await refuse(
        peer,
        'registry.register',
        `service/${service}`,
        `your certificate is for ${peer.service}, not ${service}`,
      );
    }
    if (!deps.isAllowedAddress(address)) {
      await ctx.audit({
        actor: peer.id,
        action: 'registry.register',
        target: `${address}:${port}`,
        outcome: 'failure',
        reason: 'address not allowed',
      });
      throw new FlotillaError('FLT_BAD_REQUEST', `address ${address} is outside the allowed networks`);
    }
    const instance = registry.register({
      service: peer.service,
      address,
      port,
      ...(version ? { version } : {}),
      ...(metadata ? { metadata } : {}),
    });
    await ctx.audit({
      actor: peer.id,
      action: 'registry.register',
      target: `instance/${instance.id}`,
      outcome: 'success',
      details: { address, port },
    });
    return reply.code(201).send({
      id: instance.id,
      heartbeatSeconds: deps.heartbeatSeconds,
      ttlSeconds: deps.ttlSeconds,
      ...(deps.heartbeatStreamSeconds ? { heartbeatStreamSeconds: deps.heartbeatStreamSeconds } : {}),
    });
  });
}

function heartbeatRoutes({ app, deps, owned, requirePeer }: RegistryRoutes): void {
  const { registry } = deps;
  // One request per heartbeat: kits that were not offered a stream, and older kits.
  app.put(CONTROL_ROUTES.heartbeat.path, { schema: { params: InstanceParams } }, async (req, reply) => {
    const instance = await owned(req, req.params.id, 'registry.heartbeat');
    registry.beat(instance);
    return reply.code(204).send();
  });

  if (deps.heartbeatStreamSeconds) {
    heartbeatStreamRoute(
      app,
      {
        registry,
        heartbeatSeconds: deps.heartbeatSeconds,
        streamSeconds: deps.heartbeatStreamSeconds,
        isRevoked: deps.isRevoked,
      },
      owned,
      requirePeer,
    );
  }
}

function deregisterRoute({ app, ctx, deps, owned, requirePeer }: RegistryRoutes): void {
  const { registry } = deps;
  app.delete(CONTROL_ROUTES.deregister.path, { schema: { params: InstanceParams } }, async (req, reply) => {
    const instance = await owned(req, req.params.id, 'registry.deregister');
    registry.remove(instance.id, 'deregistered');
    await ctx.audit({
      actor: requirePeer(req).id,
      action: 'registry.deregister',
      target: `instance/${instance.id}`,
      outcome: 'success',
    });
    return reply.code(204).send();
  });
}

function listRoute({ app, deps, requirePeer }: RegistryRoutes): void {
  const { registry } = deps;
  app.get(CONTROL_ROUTES.listInstances.path, async (req) => {
    if (!deps.isAdmin(req)) requirePeer(req);
    const now = Date.now();
    return {
      instances: registry.all().map((i) => ({
        ...publicView(i),
        registeredAt: i.registeredAt,
        lastHeartbeatSecondsAgo: Math.round((now - i.lastHeartbeat) / 100) / 10,
        heartbeats: i.heartbeats,
        healthy: isReady(i),
      })),
    };
  });
}

function watchRoute({ app, deps, requirePeer }: RegistryRoutes): void {
  const { registry } = deps;
  // Watch streams never end on their own: close them before the server drains, or it never would.
  const streams = new Set<{ destroy: () => void }>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.destroy();
  });

  // Server-Sent Events: a snapshot, then every change as it happens.
  app.get(CONTROL_ROUTES.watch.path, async (req, reply) => {
    requirePeer(req);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-request-id': String(req.id),
    });
    const send = (event: string, data: unknown) =>
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('snapshot', { instances: registry.snapshot() });
    const onChange = (e: RegistryEvent) => {
      if (e.type === 'up') send('up', e.instance);
      else send('down', { id: e.id, service: e.service, reason: e.reason });
    };
    registry.on('change', onChange);
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    const close = () => {
      clearInterval(keepalive);
      registry.off('change', onChange);
    };
    streams.add(res);
    res.once('close', () => {
      streams.delete(res);
      close();
    });
  });
}
