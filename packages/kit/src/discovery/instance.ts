/** One running copy of a service, as the registry knows it. */
export interface Instance {
  id: string;
  service: string;
  address: string;
  port: number;
  version?: string;
  metadata?: Record<string, string>;
}

export function originOf(instance: Pick<Instance, 'address' | 'port'>): string {
  const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
  return `https://${host}:${instance.port}`;
}
