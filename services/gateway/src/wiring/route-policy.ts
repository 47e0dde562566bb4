import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@flotilla/kit';
import { formatIssue, PolicyError } from '@flotilla/policy';
import type { GatewayContext } from '../config.js';
import { CedarDecider } from '../policy/cedar-decider.js';
import { type RouteDecider, scopePolicy } from '../policy/route-decider.js';
import { checkRouteActions, routeActionsOf } from '../routes/route-actions.js';
import type { BuiltinRoute } from '../routes/route-table.js';
import type { GatewayDeps } from './gateway-deps.js';
import type { LoadedRoutes } from './routes-config.js';

/**
 * What decides each route request. With a workload identity the kit runs the fleet's signed
 * policy bundle (hot-reloaded): the gateway decides with it, as every service does; without
 * one, with the Cedar policies of FLOTILLA_POLICY_DIR. Either way every authenticated route
 * must name an action the schema declares for `Route`, or the start is refused.
 */
export async function buildRouteDecider(
  ctx: GatewayContext,
  deps: GatewayDeps,
  routes: LoadedRoutes,
  builtins: readonly BuiltinRoute[],
  authenticates: boolean,
): Promise<RouteDecider> {
  if (deps.policy) return deps.policy;
  // No route requires a caller: only public routes, which are never asked about.
  if (!authenticates) return scopePolicy;
  const cedar = ctx.policy ? CedarDecider.over(ctx.policy) : await loadCedar(ctx);
  const declared = declaredRouteActions(ctx, cedar);
  checkRouteActions(routes.config, declared, routes.source);
  // The gateway's own routes are decided on too (`http:POST` for `POST /api/permissions`).
  checkRouteActions({ routes: builtins.map((b) => b.config) }, declared, "the gateway's own routes");
  return cedar;
}

/**
 * The actions a route may name: those the schema in force declares for `Route`, or — when
 * the policies in force are the kit's (the signed bundle) — those of FLOTILLA_POLICY_DIR's
 * schema, which the bundle is signed from.
 */
function declaredRouteActions(ctx: GatewayContext, cedar: CedarDecider): ReadonlySet<string> {
  const dir = ctx.config.FLOTILLA_POLICY_DIR;
  const schema = cedar.schema ?? readSchema(dir);
  try {
    return routeActionsOf(schema);
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_POLICY_DIR',
      `FLOTILLA_POLICY_DIR: the schema in ${dir} does not load: ${policyProblem(err)}`,
    );
  }
}

/**
 * The Cedar policies from `FLOTILLA_POLICY_DIR`, reloaded on change (a broken edit keeps
 * the previous set in force). A set that does not load refuses the start.
 */
async function loadCedar(ctx: GatewayContext): Promise<CedarDecider> {
  const dir = ctx.config.FLOTILLA_POLICY_DIR;
  let cedar: CedarDecider;
  try {
    cedar = await CedarDecider.load({
      dir,
      onReload: (version) => ctx.log.info({ dir, version }, 'gateway policies reloaded'),
      onReloadError: (err) =>
        ctx.log.warn({ err: policyProblem(err) }, 'gateway policy reload failed; keeping the previous set'),
    });
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_POLICY_DIR',
      `FLOTILLA_POLICY_DIR: the policies in ${dir} do not load: ${policyProblem(err)}`,
    );
  }
  ctx.onClose(() => cedar.close());
  ctx.log.info({ dir }, 'gateway policies loaded');
  return cedar;
}

function readSchema(dir: string): string {
  const file = join(dir, 'schema.cedarschema');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'FLOTILLA_POLICY_DIR',
      `FLOTILLA_POLICY_DIR: cannot read ${file} to check the routes' actions (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

function policyProblem(err: unknown): string {
  if (err instanceof PolicyError && err.issues.length > 0) return err.issues.map(formatIssue).join('; ');
  return err instanceof Error ? err.message : String(err);
}
