import { describe, expect, it } from 'vitest';
import { parseFleet } from '../src/fleet/load-fleet.js';
import { gatewayRoutes } from '../src/up/fleet-env.js';

const fleet = (extra = '') =>
  parseFleet(
    `version: 1
name: demo
auth:
  audience: demo-api
  clients: []
roles: [viewer]
gateway:
${extra}  routes:
    - { method: GET, path: /api/a, service: alpha, upstreamPath: /a }
services:
  - name: alpha
    entry: alpha.ts
`,
    'fleet.yaml',
  );

describe("the gateway's routes file from the fleet file", () => {
  it('turns on POST /api/permissions for the web app’s origin by default', () => {
    expect(gatewayRoutes(fleet(), 'https://localhost:8443').permissions).toEqual({
      cors: { origins: ['https://localhost:8443'], credentials: false },
    });
  });

  it('turns it off with gateway.permissions: false', () => {
    expect(gatewayRoutes(fleet('  permissions: false\n'), 'https://localhost:8443').permissions).toEqual({
      enabled: false,
    });
  });
});
