// Registries are an SSRF surface: an image reference names a host of the tenant's choosing, and the worker
// connects to it. Before every pull the host's addresses are resolved and each is checked: loopback, private,
// link-local (cloud metadata), CGNAT, unique-local, multicast, reserved and unspecified addresses are refused,
// and so are IPv4-mapped IPv6 forms of them. Only hosts the operator lists in HOURGLASS_INSECURE_REGISTRIES
// pass whatever they resolve to (and may speak plain HTTP).
//
// This check answers early and plainly; the address actually dialed is checked again by the dial guard
// (dial-guard-proxy.ts), the CONNECT proxy every skopeo call goes through, so DNS rebinding between the two
// cannot reach an internal address.

import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ImageError } from '../../ports/images.js';

const REFUSED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  REFUSED.addSubnet(network, prefix, 'ipv6');
}

/** Whether a worker may connect to this address for a tenant: a public unicast one. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1] !== undefined) return isPublicAddress(mapped[1]);
    if (/^::ffff:/i.test(address)) return false; // a mapped address in hex form: refuse rather than decode
    return !REFUSED.check(address, 'ipv6');
  }
  return !REFUSED.check(address, 'ipv4');
}

/** All the addresses a name resolves to (the system resolver by default; tests give their own). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  isIP(host) !== 0 ? [host] : (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface RegistryAccess {
  /** Plain HTTP and no certificate check: only for the operator's listed registries. */
  insecure: boolean;
}

/** host or host:port → the host part, without brackets. */
function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon === -1 ? registry : registry.slice(0, colon);
}

export class RegistryGuard {
  private readonly insecure: ReadonlySet<string>;

  constructor(
    insecureRegistries: readonly string[],
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.insecure = new Set(insecureRegistries.map((host) => host.toLowerCase()));
  }

  /** The operator's listed hosts (host:port, lowercase): the only ones skopeo reaches without the dial guard. */
  get insecureHosts(): ReadonlySet<string> {
    return this.insecure;
  }

  /** Resolves the registry host and refuses it unless every address is public (or the operator listed it). */
  async check(registry: string): Promise<RegistryAccess> {
    if (this.insecure.has(registry.toLowerCase())) return { insecure: true };
    const host = hostOf(registry);
    let addresses: string[];
    try {
      addresses = await this.resolve(host);
    } catch {
      throw new ImageError('pull_failed', `registry ${registry} could not be resolved`);
    }
    const refused = addresses.find((address) => !isPublicAddress(address));
    if (refused !== undefined || addresses.length === 0) {
      throw new ImageError(
        'registry_not_allowed',
        `registry ${registry} resolves to ${refused ?? 'no address'}, which is not a public address; ` +
          'an operator may allow it in HOURGLASS_INSECURE_REGISTRIES',
      );
    }
    return { insecure: false };
  }
}
