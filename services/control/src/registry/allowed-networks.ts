import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@flotilla/kit';

/**
 * The networks an instance may register an address in (CIDRs, e.g. `127.0.0.0/8,::1/128`).
 * Without this, a compromised service could point its registration at any host.
 */
export function allowedNetworks(spec: string): (address: string) => boolean {
  const list = new BlockList();
  for (const cidr of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [net, bits] = cidr.split('/');
    const family = isIP(net ?? '');
    if (!net || family === 0 || bits === undefined || !/^\d+$/.test(bits)) {
      throw new ConfigError(
        'REGISTRY_ALLOWED_NETWORKS',
        `REGISTRY_ALLOWED_NETWORKS: "${cidr}" is not a CIDR such as 127.0.0.0/8`,
      );
    }
    list.addSubnet(net, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}
