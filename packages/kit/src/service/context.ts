import type { Static, TObject, TProperties } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { Decision, DecisionRequest } from '@flotilla/policy';
import type { AuditEvent, AuditLog, AuditRecord } from '../audit/index.js';
import { Bus } from '../bus/bus.js';
import { openTransport } from '../bus/open-transport.js';
import type { BusTransport } from '../bus/transport.js';
import type { BaseConfig } from '../config/index.js';
import { KmsClient, kmsOverCall } from '../contracts/kms/index.js';
import type { BrokerTransport as BrokerCall } from '../contracts/broker/index.js';
import type { Db } from '../db/index.js';
import { StorageClient, storageOverCall } from '../contracts/storage/index.js';
import type { CallRequest, Catalog, DispatchCall, ServiceClient } from '../discovery/index.js';
import { type IdentitySource, type MtlsClient, serviceSpiffeId } from '../identity/index.js';
import type { HealthCheck, Readiness } from './health.js';
import type { Closers } from './shutdown.js';

/** What a service's code gets from the kit. */
export interface ServiceContext<P extends TProperties = TProperties> {
  readonly name: string;
  readonly config: Readonly<BaseConfig & Static<TObject<P>>>;
  readonly log: Logger;
  /** The service's database; present when the definition has `migrations` or `database: true`. */
  readonly db: Db;
  readonly metrics: Registry;
  /** Records a security event in the service's hash-chained audit trail. */
  audit(event: AuditEvent): Promise<AuditRecord>;
  /** Adds a readiness check; `/readyz` is 503 while any check fails. */
  addCheck(name: string, check: HealthCheck): void;
  /** Runs at shutdown, after the server has drained, in reverse order of registration. */
  onClose(fn: () => Promise<void> | void): void;
  /** This service's workload identity; undefined when it runs without a control plane (plain HTTP). */
  readonly identity: IdentitySource | undefined;
  /** mTLS client for calls to other services; throws without an identity (no identity, no calls). */
  readonly client: MtlsClient;
  /**
   * Calls another service by name: discovery, load balancing, outlier ejection, retries of
   * idempotent requests within a budget, circuit breaking, mTLS with the SPIFFE check.
   */
  call(service: string, request: CallRequest): Promise<Dispatcher.ResponseData>;
  /**
   * `call` for a bodiless request without promises (a proxy's hot path): the response, or
   * the failure as a `FlotillaError`, goes to `handler` on undici's dispatch API.
   */
  dispatch(service: string, request: DispatchCall, handler: Dispatcher.DispatchHandler): void;
  /**
   * The fleet's policies in force in this service — the control plane's signed bundle,
   * hot-reloaded, or FLOTILLA_POLICY_DIR without one — for the service's own checks
   * (`openUserAccess` uses it). Undefined without a workload identity, and until `routes` runs.
   */
  readonly policy: PolicyDecider | undefined;
  /**
   * The fleet's KMS (`kms`, discovered like any other call, over mTLS): data keys for
   * envelope encryption, small payloads. Created at first use; throws without a control
   * plane. What this service may do with which key is the fleet's Cedar policies' call.
   *
   * @example
   * const { plaintext, ciphertext } = await ctx.kms.generateDataKey('storage', { bucket: 'videos' });
   */
  readonly kms: KmsClient;
  /**
   * The fleet's object storage (service `storage`, over `call`): streamed puts, gets with
   * a range, head, list, delete, copy. Made at first use; throws without a control plane.
   *
   * @example
   * await ctx.storage.put('videos', 'cats/1.mp4', createReadStream(file), { contentType: 'video/mp4' });
   */
  readonly storage: StorageClient;
  /**
   * The fleet's message bus (BUS_URL): `send` / `consume` on queues (one consumer handles
   * each message), `publish` / `subscribe` on topics (each subscribing service gets one
   * copy). Typed messages, the fleet's Cedar policies, at-least-once delivery with bounded
   * retries and dead letters. Made at first use; connects at the first call.
   *
   * @example
   * await ctx.bus.send('viewed', Viewed, { videoId: 'v1' });
   * await ctx.bus.consume('viewed', Viewed, async (body, message) => record(body, message.id));
   */
  readonly bus: Bus;
}

/** Decides under a policy set; any error is a deny. */
export interface PolicyDecider {
  decide(request: DecisionRequest): Decision;
  /** Changes whenever another policy set comes into force (for callers that memoise allows). */
  readonly version: number;
}

/** Service discovery: the catalog the registry feeds, and the client that calls through it. */
export interface Discovery {
  catalog: Catalog;
  services: ServiceClient;
}

/** What the kit has opened for a service, from which its context is made. */
export interface ContextParts<P extends TProperties> {
  name: string;
  config: Readonly<BaseConfig & Static<TObject<P>>>;
  log: Logger;
  metrics: Registry;
  audit: AuditLog;
  db: Db | undefined;
  identity: IdentitySource | undefined;
  client: MtlsClient | undefined;
  discovery: Discovery | undefined;
  readiness: Readiness;
  closers: Closers;
  /** The policy engine in force, once inbound authorization has started. */
  policy: () => PolicyDecider | undefined;
}

/** The `ctx` handed to a service's `routes`: what it asked for, and a clear error for what it did not. */
export function createContext<P extends TProperties>(parts: ContextParts<P>): ServiceContext<P> {
  const { name, db, client, discovery } = parts;
  let kms: KmsClient | undefined;
  let storage: StorageClient | undefined;
  let bus: Bus | undefined;
  const ctx: ServiceContext<P> = {
    name,
    config: parts.config,
    log: parts.log,
    get db(): Db {
      if (!db) throw new Error(`service ${name} has no database: declare migrations or database: true`);
      return db;
    },
    metrics: parts.metrics,
    audit: (event) => parts.audit.append(event),
    addCheck: (checkName, check) => parts.readiness.add(checkName, check),
    onClose: (fn) => parts.closers.add(fn),
    identity: parts.identity,
    get client(): MtlsClient {
      if (!client)
        throw new Error(`service ${name} has no workload identity, so it may not call other services`);
      return client;
    },
    async call(service, request) {
      if (!discovery)
        throw new Error(`service ${name} has no control plane, so it cannot discover ${service}`);
      await discovery.catalog.ready();
      return discovery.services.call(service, request);
    },
    dispatch(service, request, handler) {
      if (!discovery)
        throw new Error(`service ${name} has no control plane, so it cannot discover ${service}`);
      const { catalog, services } = discovery;
      if (catalog.isSynced) return services.dispatch(service, request, handler);
      // Before the first snapshot, as `call` does: wait for it (at most 5 s), then go on.
      void catalog.ready().then(() => services.dispatch(service, request, handler));
    },
    get policy() {
      return parts.policy();
    },
    get kms(): KmsClient {
      if (!discovery)
        throw new Error(`service ${name} has no control plane, so it cannot reach the KMS (kms)`);
      kms ??= new KmsClient(kmsOverCall((service, request) => ctx.call(service, request)));
      return kms;
    },
    get storage(): StorageClient {
      if (!discovery)
        throw new Error(`service ${name} has no control plane, so it cannot reach the storage service`);
      storage ??= new StorageClient(storageOverCall((service, request) => ctx.call(service, request)));
      return storage;
    },
    get bus(): Bus {
      bus ??= openBus(parts, (request) => ctx.call('broker', request));
      return bus;
    },
  };
  return ctx;
}

/** The bus of a service: its transport opens at first use, and closes at shutdown. */
function openBus<P extends TProperties>(parts: ContextParts<P>, callBroker: BrokerCall): Bus {
  const { name, config, log } = parts;
  const url = config.BUS_URL;
  // Without BUS_URL the bus is the fleet's embedded broker, reached through discovery.
  if (!url && !parts.discovery)
    throw new Error(
      `service ${name} has no BUS_URL and no control plane, so it has no message bus (amqp://… for RabbitMQ)`,
    );
  const broker = url ? undefined : { service: name, call: callBroker };
  const identity = serviceSpiffeId(config.FLOTILLA_TRUST_DOMAIN, name);
  let transport: Promise<BusTransport> | undefined;
  const bus = new Bus({
    service: name,
    identity,
    transport: () => {
      const login = {
        service: name,
        home: config.FLOTILLA_HOME,
        passwordFile: config.FLOTILLA_BUS_PASSWORD_FILE,
        tls: parts.identity && (() => parts.identity!.current()),
      };
      transport ??= openTransport(url, identity, log, broker, login).then((t) => {
        parts.readiness.add('bus', () => {
          if (t.status !== 'up') throw new Error(`broker connection ${t.status}`);
        });
        return t;
      });
      return transport;
    },
    policy: parts.policy,
    audit: (event) => parts.audit.append(event),
    metrics: parts.metrics,
    log,
  });
  parts.closers.add(async () => {
    await bus.close();
    await (await transport?.catch(() => undefined))?.close();
  });
  return bus;
}
