import type { LimitConfig } from '../routes/route-schema.js';

/** One quota policy as applied to one request. */
export interface LimitState {
  /** Policy name, e.g. `user`, `client`, `tier-admin`, a route policy. */
  name: string;
  limit: LimitConfig;
  /** Requests left in the window. */
  remaining: number;
  /** Seconds until the window resets. */
  resetSec: number;
}

// Policy names travel as Structured Field Strings (RFC 9651 §3.3.3): printable ASCII, `"` and `\` escaped.
// Names come from the configuration (a bounded set), so each is escaped once.
const SF_STRINGS = new Map<string, string>();
function sfString(value: string): string {
  let sf = SF_STRINGS.get(value);
  if (sf === undefined) {
    sf = `"${value.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
    SF_STRINGS.set(value, sf);
  }
  return sf;
}

/**
 * The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-11
 * (May 2026): each a List of items named after the policy, with `q` (quota) and `w`
 * (window, seconds) for the policy, and `r` (remaining) and `t` (seconds to reset) for
 * the current state, e.g. `RateLimit-Policy: "user";q=100;w=60` and `RateLimit: "user";r=0;t=17`.
 */
export function rateLimitHeaders(states: readonly LimitState[]): Record<string, string> {
  if (states.length === 0) return {};
  let policy = '';
  let state = '';
  for (let i = 0; i < states.length; i++) {
    const s = states[i]!;
    const name = sfString(s.name);
    const sep = i === 0 ? '' : ', ';
    policy += sep + policyItem(name, s.limit);
    state += `${sep}${name};r=${Math.max(0, s.remaining)};t=${Math.max(0, s.resetSec)}`;
  }
  return { 'ratelimit-policy': policy, ratelimit: state };
}

// `"name";q=…;w=…` per policy name and limit: both come from the configuration, so each item is made once.
const POLICY_ITEMS = new WeakMap<LimitConfig, Map<string, string>>();
function policyItem(name: string, limit: LimitConfig): string {
  let byName = POLICY_ITEMS.get(limit);
  if (!byName) POLICY_ITEMS.set(limit, (byName = new Map<string, string>()));
  let item = byName.get(name);
  if (item === undefined) byName.set(name, (item = `${name};q=${limit.points};w=${limit.duration}`));
  return item;
}
