// The egress network's options, resolved once and frozen: the worker's name prefix, the address pool runs'
// /30s come from, the private ranges an operator lets runs reach, the resolv.conf runs get, and the tools.
// Also the fixed lists of what a run may never reach (ALWAYS_BLOCKED) and what it may not by default
// (PRIVATE_RANGES). No I/O.

import {
  blockSize,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  type Ipv4Cidr,
  parseCidr,
  parseIpv4,
} from './ipv4-cidr.js';

export interface EgressOptions {
  /** Names every namespace, veth and chain this worker makes: 1–8 of [a-z0-9], unique per worker on a host. */
  prefix: string;
  /** Where runs' /30s come from (default 10.213.0.0/16). Workers sharing a host need disjoint pools. */
  pool?: string;
  /** Private blocks (RFC 1918, CGNAT) runs may reach after all, e.g. an internal package mirror. */
  allowPrivate?: readonly string[];
  /** The run's /etc/resolv.conf. Default: public resolvers (the host's own resolver is out of reach). */
  resolvConf?: string;
  ipPath?: string;
  iptablesPath?: string;
  iptablesRestorePath?: string;
}

export interface ResolvedEgressOptions {
  readonly prefix: string;
  readonly pool: Ipv4Cidr;
  /** How many /30s the pool holds (capped at 65536 so a slot fits in 4 hex digits of an interface name). */
  readonly slots: number;
  readonly allowPrivate: readonly Ipv4Cidr[];
  readonly resolvConf: string;
  readonly ipPath: string;
  readonly iptablesPath: string;
  readonly iptablesRestorePath: string;
}

export const DEFAULT_POOL = '10.213.0.0/16';
export const DEFAULT_RESOLV_CONF = 'nameserver 1.1.1.1\nnameserver 9.9.9.9\noptions timeout:2 attempts:2\n';
const MAX_SLOTS = 0x10000;

/** Never reachable from a run, whatever the operator allows: this-network, loopback, link-local, multicast, reserved. */
export const ALWAYS_BLOCKED: readonly Ipv4Cidr[] = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
].map(parseCidr);

/** Not reachable by default (allowPrivate opens parts): RFC 1918 and the CGNAT shared space (RFC 6598). */
export const PRIVATE_RANGES: readonly Ipv4Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
].map(parseCidr);

export function resolveEgressOptions(options: EgressOptions): ResolvedEgressOptions {
  if (!/^[a-z0-9]{1,8}$/.test(options.prefix)) {
    throw new Error(`egress prefix ${JSON.stringify(options.prefix)}: expected 1–8 characters of [a-z0-9]`);
  }
  const pool = parseCidr(options.pool ?? DEFAULT_POOL);
  if (pool.bits > 30) throw new Error(`egress pool ${formatCidr(pool)}: must hold at least one /30`);
  if (ALWAYS_BLOCKED.some((b) => cidrsOverlap(b, pool))) {
    throw new Error(`egress pool ${formatCidr(pool)} overlaps a reserved range`);
  }
  const allowPrivate = (options.allowPrivate ?? []).map((text) => {
    const cidr = parseCidr(text);
    if (
      !PRIVATE_RANGES.some(
        (p) => cidrContains(p, cidr.base) && cidrContains(p, cidr.base + blockSize(cidr.bits) - 1),
      )
    ) {
      throw new Error(
        `egress allowPrivate ${text}: only parts of 10/8, 172.16/12, 192.168/16 or 100.64/10 can be allowed`,
      );
    }
    return cidr;
  });
  const resolvConf = options.resolvConf ?? DEFAULT_RESOLV_CONF;
  for (const server of nameservers(resolvConf)) {
    const address = parseIpv4(server); // an IPv6 resolver is refused here: runs have no IPv6
    if (ALWAYS_BLOCKED.some((b) => cidrContains(b, address)) || cidrContains(pool, address)) {
      throw new Error(`egress resolvConf: nameserver ${server} is never reachable from a run`);
    }
    const isPrivate = PRIVATE_RANGES.some((p) => cidrContains(p, address));
    if (isPrivate && !allowPrivate.some((a) => cidrContains(a, address))) {
      throw new Error(`egress resolvConf: nameserver ${server} is private; add it to allowPrivate`);
    }
  }
  return Object.freeze({
    prefix: options.prefix,
    pool,
    slots: Math.min(blockSize(pool.bits) / 4, MAX_SLOTS),
    allowPrivate: Object.freeze(allowPrivate),
    resolvConf,
    ipPath: options.ipPath ?? '/usr/sbin/ip',
    iptablesPath: options.iptablesPath ?? '/usr/sbin/iptables',
    iptablesRestorePath: options.iptablesRestorePath ?? '/usr/sbin/iptables-restore',
  });
}

function nameservers(resolvConf: string): string[] {
  return resolvConf
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0] === 'nameserver')
    .map((words) => words[1] ?? '');
}
