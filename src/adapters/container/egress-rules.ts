// The worker's iptables rules for egress runs, installed once per worker (not per run): they match runs by
// interface name (`<prefix>-+`, every run's host-side veth) and by the pool, so a run's prepare and release
// touch no rule at all. Three chains of our own, each reached by one jump inserted first in its built-in chain:
//
//   filter INPUT        -i <prefix>-+ → HOURGLASS-<prefix>-IN   DROP: a run reaches no address of the host
//   filter FORWARD      -i/-o <prefix>-+ → HOURGLASS-<prefix>-FWD
//       to a run: only replies (ESTABLISHED,RELATED); else DROP — no run-to-run, nothing inbound
//       from a run: DROP loopback, link-local (metadata), multicast, reserved; ACCEPT the operator's
//       allowPrivate blocks; DROP RFC 1918 and CGNAT; ACCEPT the rest (the internet)
//   nat POSTROUTING     -s <pool> → HOURGLASS-<prefix>-NAT      MASQUERADE unless it goes to a run
//
// Written with one `iptables-restore --noflush` (atomic: the chains are flushed and refilled in one commit).

import { formatCidr } from './ipv4-cidr.js';
import { ALWAYS_BLOCKED, PRIVATE_RANGES, type ResolvedEgressOptions } from './egress-options.js';
import { runTool, ToolError } from './run-tool.js';

export interface EgressChains {
  input: string;
  forward: string;
  nat: string;
}

export function egressChains(prefix: string): EgressChains {
  return {
    input: `HOURGLASS-${prefix}-IN`,
    forward: `HOURGLASS-${prefix}-FWD`,
    nat: `HOURGLASS-${prefix}-NAT`,
  };
}

/** The jumps into our chains: [table, built-in chain, match and target]. */
function jumps(options: ResolvedEgressOptions): Array<[string, string, string[]]> {
  const chains = egressChains(options.prefix);
  const veths = `${options.prefix}-+`;
  return [
    ['filter', 'INPUT', ['-i', veths, '-j', chains.input]],
    ['filter', 'FORWARD', ['-i', veths, '-j', chains.forward]],
    ['filter', 'FORWARD', ['-o', veths, '-j', chains.forward]],
    ['nat', 'POSTROUTING', ['-s', formatCidr(options.pool), '-j', chains.nat]],
  ];
}

export function egressRulesText(options: ResolvedEgressOptions): string {
  const { input, forward, nat } = egressChains(options.prefix);
  const veths = `${options.prefix}-+`;
  const drop = (cidr: string): string => `-A ${forward} -i ${veths} -d ${cidr} -j DROP`;
  return [
    '*filter',
    `:${input} - [0:0]`,
    `:${forward} - [0:0]`,
    `-F ${input}`,
    `-F ${forward}`,
    `-A ${input} -j DROP`,
    `-A ${forward} -o ${veths} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A ${forward} -o ${veths} -j DROP`,
    ...ALWAYS_BLOCKED.map((c) => drop(formatCidr(c))),
    ...options.allowPrivate.map((c) => `-A ${forward} -i ${veths} -d ${formatCidr(c)} -j ACCEPT`),
    ...PRIVATE_RANGES.map((c) => drop(formatCidr(c))),
    `-A ${forward} -i ${veths} -j ACCEPT`,
    'COMMIT',
    '*nat',
    `:${nat} - [0:0]`,
    `-F ${nat}`,
    `-A ${nat} ! -o ${veths} -j MASQUERADE`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Fills our chains (replacing what an older worker with this prefix left) and inserts each jump once. */
export async function installEgressRules(options: ResolvedEgressOptions): Promise<void> {
  await runTool(options.iptablesRestorePath, ['-w', '--noflush'], egressRulesText(options));
  for (const [table, chain, rule] of jumps(options)) {
    if (!(await ruleExists(options, table, chain, rule))) {
      await runTool(options.iptablesPath, ['-w', '-t', table, '-I', chain, '1', ...rule]);
    }
  }
}

/** Removes the jumps and our chains. Idempotent: what is already gone is skipped. */
export async function removeEgressRules(options: ResolvedEgressOptions): Promise<void> {
  for (const [table, chain, rule] of jumps(options)) {
    while (await ruleExists(options, table, chain, rule)) {
      await runTool(options.iptablesPath, ['-w', '-t', table, '-D', chain, ...rule]);
    }
  }
  const { input, forward, nat } = egressChains(options.prefix);
  for (const [table, name] of [
    ['filter', input],
    ['filter', forward],
    ['nat', nat],
  ] as const) {
    try {
      await runTool(options.iptablesPath, ['-w', '-t', table, '-F', name]);
      await runTool(options.iptablesPath, ['-w', '-t', table, '-X', name]);
    } catch (error) {
      if (!(error instanceof ToolError)) throw error; // a chain already gone
    }
  }
}

async function ruleExists(
  options: ResolvedEgressOptions,
  table: string,
  chain: string,
  rule: string[],
): Promise<boolean> {
  try {
    await runTool(options.iptablesPath, ['-w', '-t', table, '-C', chain, ...rule]);
    return true;
  } catch (error) {
    // 1: no such rule; 2: no such chain to jump to (already removed) — both mean it is not there.
    if (error instanceof ToolError && (error.exitCode === 1 || error.exitCode === 2)) return false;
    throw error;
  }
}
