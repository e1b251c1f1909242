// ContainerNetworks for `egress` (and `none`). An egress run gets, ahead of its container:
//
//   netns  <prefix>-<slot>-<run key>   (/var/run/netns/…, joined by the runc executor)
//   veth   <prefix>-<slot>h (root netns, .1 of the slot's /30)  ⇄  eth0 (run's netns, .2, default route via .1)
//
// A slot is one /30 of the pool, held by one run at a time (allocated here, next-fit so a freed address is
// reused as late as possible: stale conntrack entries of the last holder then have long expired). The host end
// has IPv6 disabled (so every IPv6 packet from the run is dropped), strict reverse-path filtering (no spoofed
// sources), route_localnet=0 and arp_ignore=1. What a run may reach is decided by the worker's iptables rules
// (egress-rules.ts), installed on the first egress prepare or by removeOrphans. `none` needs nothing: runc
// makes an empty network namespace.
//
//   slot free ──prepare: ip -batch (root), sysctls, ip -n <ns> -batch──▶ held ──release: link del, netns del──▶ free

import { readdirSync, writeFileSync } from 'node:fs';
import { formatIpv4 } from './ipv4-cidr.js';
import type { ContainerNetworks, NetworkMode, PreparedNetwork } from './container-network.js';
import { type EgressOptions, resolveEgressOptions, type ResolvedEgressOptions } from './egress-options.js';
import { installEgressRules, removeEgressRules } from './egress-rules.js';
import { runTool } from './run-tool.js';

const NETNS_DIR = '/var/run/netns';

/** What prepare returns for an egress run: the port's fields plus what an operator or a test looks at. */
export interface EgressNetwork extends PreparedNetwork {
  namespacePath: string;
  namespaceName: string;
  hostInterface: string;
  hostAddress: string;
  runAddress: string;
}

export class EgressNetworks implements ContainerNetworks {
  readonly options: ResolvedEgressOptions;
  private readonly held = new Set<number>();
  private nextSlot = 0;
  private rulesInstalled: Promise<void> | null = null;

  constructor(options: EgressOptions) {
    this.options = resolveEgressOptions(options);
  }

  async prepare(runKey: string, mode: NetworkMode): Promise<PreparedNetwork> {
    if (mode === 'none') return { namespacePath: null, release: async () => {} };
    await this.ensureRules();
    const slot = this.takeSlot();
    try {
      return await this.makeNetwork(slot, runKey);
    } catch (error) {
      await this.removeSlot(slot, null).catch(() => {});
      this.held.delete(slot);
      throw error;
    }
  }

  /** Removes this prefix's namespaces and veths that no live run of this instance holds; refreshes the rules. */
  async removeOrphans(): Promise<void> {
    const { prefix } = this.options;
    const heldNames = new Set([...this.held].map((slot) => slotName(prefix, slot)));
    const pattern = new RegExp(`^${prefix}-([0-9a-f]{4})(?:h|-.*)?$`);
    const isOrphan = (name: string): boolean => {
      const match = pattern.exec(name);
      return match !== null && !heldNames.has(`${prefix}-${match[1] ?? ''}`);
    };
    const { stdout } = await runTool(this.options.ipPath, ['-o', 'link', 'show', 'type', 'veth']);
    const veths = stdout
      .split('\n')
      .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined && name.endsWith('h') && isOrphan(name));
    const namespaces = listNamespaces().filter(isOrphan);
    const lines = [...veths.map((v) => `link del ${v}`), ...namespaces.map((n) => `netns del ${n}`)];
    if (lines.length > 0) await runBatchIgnoringGone(this.options.ipPath, [], lines);
    this.rulesInstalled = null; // rewritten: an older worker with this prefix may have had other options
    await this.ensureRules();
  }

  /** Removes the worker's iptables chains and jumps (a worker that stops for good; tests). */
  async removeRules(): Promise<void> {
    this.rulesInstalled = null;
    await removeEgressRules(this.options);
  }

  private ensureRules(): Promise<void> {
    if (this.rulesInstalled === null) {
      this.rulesInstalled = enableForwarding().then(() => installEgressRules(this.options));
      this.rulesInstalled.catch(() => {
        this.rulesInstalled = null; // a later prepare tries again
      });
    }
    return this.rulesInstalled;
  }

  private takeSlot(): number {
    const { slots } = this.options;
    for (let i = 0; i < slots; i++) {
      const slot = (this.nextSlot + i) % slots;
      if (!this.held.has(slot)) {
        this.held.add(slot);
        this.nextSlot = (slot + 1) % slots;
        return slot;
      }
    }
    throw new Error(`egress pool exhausted: all ${slots} /30s are held by runs`);
  }

  private async makeNetwork(slot: number, runKey: string): Promise<EgressNetwork> {
    const base = this.options.pool.base + slot * 4;
    const hostAddress = formatIpv4(base + 1);
    const runAddress = formatIpv4(base + 2);
    const hostInterface = `${slotName(this.options.prefix, slot)}h`;
    const namespaceName = `${slotName(this.options.prefix, slot)}-${runKey.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 48)}`;
    const ip = this.options.ipPath;
    // addrgenmode none: the host end never gets an IPv6 address the run could talk to; disable_ipv6 (below,
    // before the run exists) then makes the host drop every IPv6 packet that comes from the run.
    await runTool(
      ip,
      ['-batch', '-'],
      batch([
        `netns add ${namespaceName}`,
        `link add ${hostInterface} type veth peer name eth0 netns ${namespaceName}`,
        `link set ${hostInterface} addrgenmode none`,
        `addr add ${hostAddress}/30 dev ${hostInterface}`,
        `link set ${hostInterface} up`,
      ]),
    );
    writeHostSysctls(hostInterface);
    await runTool(
      ip,
      ['-n', namespaceName, '-batch', '-'],
      batch([
        'link set lo up',
        `addr add ${runAddress}/30 dev eth0`,
        'link set eth0 up',
        `route add default via ${hostAddress} dev eth0`,
      ]),
    );
    let released: Promise<void> | null = null;
    const release = (): Promise<void> => {
      released ??= this.removeSlot(slot, namespaceName).finally(() => this.held.delete(slot));
      return released;
    };
    return {
      namespacePath: `${NETNS_DIR}/${namespaceName}`,
      namespaceName,
      hostInterface,
      hostAddress,
      runAddress,
      release,
      resolvConf: this.options.resolvConf,
    };
  }

  /** Deletes the slot's veth (both ends, even while a process still holds the namespace) and its namespace. */
  private async removeSlot(slot: number, namespaceName: string | null): Promise<void> {
    const name = slotName(this.options.prefix, slot);
    const namespaces =
      namespaceName !== null ? [namespaceName] : listNamespaces().filter((n) => n.startsWith(`${name}-`));
    await runBatchIgnoringGone(
      this.options.ipPath,
      [],
      [`link del ${name}h`, ...namespaces.map((n) => `netns del ${n}`)],
    );
  }
}

/** Only `none`, for a worker that cannot make egress networks: an egress job is refused with the reason. */
export class NoNetworks implements ContainerNetworks {
  constructor(private readonly reason = 'egress networking is not enabled on this worker') {}

  async prepare(_runKey: string, mode: NetworkMode): Promise<PreparedNetwork> {
    if (mode === 'egress') throw new Error(`network mode egress: ${this.reason}`);
    return { namespacePath: null, release: async () => {} };
  }

  async removeOrphans(): Promise<void> {}
}

function slotName(prefix: string, slot: number): string {
  return `${prefix}-${slot.toString(16).padStart(4, '0')}`;
}

function batch(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** `ip -force -batch`: every line is tried; "already gone" failures are fine (release is idempotent). */
async function runBatchIgnoringGone(ip: string, args: string[], lines: string[]): Promise<void> {
  try {
    await runTool(ip, [...args, '-force', '-batch', '-'], batch(lines));
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const unexpected = stderr
      .split('\n')
      .filter(
        (l) => l.trim() !== '' && !/Cannot find device|No such file or directory|Command failed/.test(l),
      );
    if (unexpected.length > 0) throw error;
  }
}

function writeHostSysctls(hostInterface: string): void {
  writeFileSync(`/proc/sys/net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
  writeFileSync(`/proc/sys/net/ipv4/conf/${hostInterface}/rp_filter`, '1');
  writeFileSync(`/proc/sys/net/ipv4/conf/${hostInterface}/route_localnet`, '0');
  writeFileSync(`/proc/sys/net/ipv4/conf/${hostInterface}/arp_ignore`, '1');
}

/** Routing between the runs' veths and the host's uplink. Our FORWARD chain governs the runs' traffic only. */
async function enableForwarding(): Promise<void> {
  writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
}
