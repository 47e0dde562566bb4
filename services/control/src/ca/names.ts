/** Service names, as everywhere in Flotilla: they become SPIFFE ids, schemas and folders. */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export function spiffeIdFor(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/svc/${service}`;
}

/** The service of a SPIFFE id in our trust domain, or undefined for anything else. */
export function serviceOfSpiffeId(trustDomain: string, id: string): string | undefined {
  const prefix = `spiffe://${trustDomain}/svc/`;
  if (!id.startsWith(prefix)) return undefined;
  const name = id.slice(prefix.length);
  return SERVICE_NAME.test(name) ? name : undefined;
}
