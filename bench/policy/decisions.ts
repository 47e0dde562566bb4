/**
 * Policy decision throughput: a generated, realistic set (the fleet's policies plus
 * generated IAM and service-call permits: 50 policies) over 1,000 entities.
 * Prints figures; it is not a timed test.  Run: npx tsx bench/policy/decisions.ts
 */
import { fileURLToPath } from 'node:url';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Authorizer, type DecisionRequest, type EntityInput, readPolicySources } from '@flotilla/policy';

const DIR = fileURLToPath(new URL('../../policies', import.meta.url));
const sources = await readPolicySources({ dir: DIR });

// ---- policies: the fleet's, topped up to 50 with generated ones ----
const SERVICES = Array.from({ length: 40 }, (_, i) => `svc-${i}`);
const generated: string[] = [];
const fleetCount =
  Object.values(sources.files)
    .join('\n')
    .match(/^(permit|forbid)\s*\(/gm)?.length ?? 0;
for (let i = 0; generated.length < 50 - fleetCount; i++) {
  const caller = SERVICES[i % SERVICES.length] ?? '';
  const target = SERVICES[(i * 7 + 3) % SERVICES.length] ?? '';
  generated.push(
    i % 3 === 0
      ? `permit(principal == Service::"${caller}", action in [Action::"storage:GetObject", Action::"storage:PutObject"], resource in Bucket::"bucket-${i % 10}") when { context has sourceIp && context.sourceIp.isInRange(ip("10.0.0.0/8")) };`
      : `permit(principal == Service::"${caller}", action == Action::"http:GET", resource is Endpoint) when { resource.service == "${target}" && resource.path like "/items/*" };`,
  );
}
const files = { ...sources.files, 'generated.cedar': generated.join('\n') };

// ---- 1,000 entities ----
const ref = (type: string, id: string) => ({ __entity: { type, id } });
const entities: EntityInput[] = [{ uid: 'Role::"admin"' }];
for (let i = 0; i < 500; i++) {
  const admin = i % 50 === 0;
  entities.push({
    uid: { type: 'User', id: `u${i}` },
    attrs: { roles: admin ? ['admin'] : ['viewer'], mfa: i % 4 !== 0 },
    parents: admin ? ['Role::"admin"'] : [],
  });
}
for (let i = 0; i < 300; i++)
  entities.push({ uid: { type: 'Video', id: `v${i}` }, attrs: { owner: ref('User', `u${i}`) } });
for (let i = 0; i < 60; i++)
  entities.push({ uid: { type: 'History', id: `u${i}` }, attrs: { owner: ref('User', `u${i}`) } });
for (const s of SERVICES)
  entities.push({ uid: { type: 'Service', id: s }, attrs: { spiffeId: `spiffe://flotilla.local/svc/${s}` } });
for (let i = 0; i < 10; i++) entities.push({ uid: { type: 'Bucket', id: `bucket-${i}` } });
// Objects fill up to 960 (49 of them), endpoints up to 1,000 (40, one per service).
for (let i = 0; entities.length < 960; i++) {
  entities.push({
    uid: { type: 'Object', id: `o${i}` },
    attrs: { bucket: ref('Bucket', `bucket-${i % 10}`) },
    parents: [`Bucket::"bucket-${i % 10}"`],
  });
}
for (let i = 0; entities.length < 1000; i++) {
  const svc = SERVICES[i % SERVICES.length] ?? '';
  entities.push({
    uid: { type: 'Endpoint', id: `${svc} GET /items/${i}` },
    attrs: { service: svc, method: 'GET', path: `/items/${i}` },
  });
}

// ---- a request mix: users on videos and history, service calls, IAM ----
const requests: DecisionRequest[] = [];
for (let i = 0; i < 4096; i++) {
  const vi = (i * 7) % 300;
  // Half the video requests come from the video's owner.
  const u = `User::"u${i % 2 === 0 ? vi : (i * 13) % 500}"`;
  const v = `Video::"v${vi}"`;
  const caller = i % 40;
  switch (i % 6) {
    case 0:
      requests.push({ principal: u, action: 'video:Read', resource: v });
      break;
    case 1:
      requests.push({ principal: u, action: 'video:Delete', resource: v });
      break;
    case 2:
      requests.push({
        principal: `User::"u${i % 60}"`,
        action: 'history:Read',
        resource: `History::"u${(i >> 1) % 60}"`,
      });
      break;
    case 3: {
      // A call to the endpoint the generated policies let this caller reach.
      const endpoint = entities[960 + ((caller * 7 + 3) % 40)]!;
      requests.push({
        principal: `Service::"${SERVICES[caller]}"`,
        action: 'http:GET',
        resource: endpoint.uid,
      });
      break;
    }
    case 4:
      requests.push({
        principal: `Service::"${SERVICES[caller]}"`,
        action: 'storage:GetObject',
        resource: `Object::"o${i % 49}"`,
        context: { sourceIp: '10.1.2.3' },
      });
      break;
    default:
      requests.push({ principal: u, action: 'video:Update', resource: v });
  }
}

function measure(label: string, engine: Authorizer, pool: readonly DecisionRequest[], ms: number): void {
  let allow = 0;
  const end = performance.now() + 300;
  for (let i = 0; performance.now() < end; i++) engine.decide(pool[i % pool.length]!); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let k = 0; k < 256; k++, n++)
      if (engine.decide(pool[n % pool.length]!).decision === 'allow') allow++;
    now = performance.now();
  }
  const perSec = n / ((now - start) / 1000);
  const us = ((now - start) * 1000) / n;
  console.log(
    `${label.padEnd(34)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)} decisions/s  ${us.toFixed(2).padStart(8)} µs/decision  (${((allow / n) * 100).toFixed(0)}% allow)`,
  );
}

const uncached = new Authorizer({ schema: sources.schema, files }, { entities, cache: false });
const cached = new Authorizer({ schema: sources.schema, files }, { entities, cache: { max: 10_000 } });
console.log(
  `policies: ${uncached.policies.length}, entities: ${entities.length}, node ${process.version}, one core`,
);
const errors = requests.filter((r) => uncached.decide(r).errors.length > 0).length;
console.log(`request mix: ${requests.length} distinct requests, ${errors} with errors`);
measure('uncached (prepared, sliced)', uncached, requests, 3000);
measure('cached (LRU hit)', cached, requests.slice(0, 512), 3000);

// Reference: Cedar's own floor on this machine, one prepared policy and two entities,
// so the engine's overhead can be told apart from the Wasm call.
cedar.preparseSchema('bench-schema', sources.schema);
cedar.preparsePolicySet('bench-one', {
  staticPolicies: { a: 'permit(principal is User, action == Action::"video:Read", resource is Video);' },
});
const call: cedar.StatefulAuthorizationCall = {
  principal: { type: 'User', id: 'u1' },
  action: { type: 'Action', id: 'video:Read' },
  resource: { type: 'Video', id: 'v1' },
  context: {},
  entities: [
    { uid: { type: 'User', id: 'u1' }, attrs: { roles: ['viewer'], mfa: true }, parents: [] },
    {
      uid: { type: 'Video', id: 'v1' },
      attrs: { owner: { __entity: { type: 'User', id: 'u1' } } },
      parents: [],
    },
  ],
  preparsedPolicySetId: 'bench-one',
  preparsedSchemaName: 'bench-schema',
  validateRequest: true,
};
let n = 0;
const t0 = performance.now();
while (performance.now() - t0 < 2000) for (let k = 0; k < 64; k++, n++) cedar.statefulIsAuthorized(call);
const floor = n / ((performance.now() - t0) / 1000);
console.log(
  `${'reference: raw Cedar call, 1 policy'.padEnd(34)} ${Math.round(floor).toLocaleString('en-US').padStart(12)} calls/s`,
);
