import type { Principal } from '../auth/principal.js';

/**
 * How the verified caller travels to the upstream, in a form the service verifies itself
 * (a service never trusts a bare identity header). The default forwards the caller's own
 * access token; a short-lived token signed by the gateway can replace it without touching
 * the pipeline.
 */
export interface CallerCredential {
  headers(
    principal: Principal,
    originalAuthorization: string | undefined,
  ): Record<string, string> | Promise<Record<string, string>>;
}

export const forwardOriginalToken: CallerCredential = {
  headers: (_principal, authorization): Record<string, string> => (authorization ? { authorization } : {}),
};
