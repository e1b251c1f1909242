// How a container gets its network. `none`: a network namespace of its own with only its loopback (runc makes
// it). `egress`: a namespace made ahead with a veth to the host and NAT out, which can reach neither the
// host's own addresses, its loopback, nor link-local metadata addresses (egress-network.ts).

import type { NetworkMode } from '../../core/job.js';

export type { NetworkMode };

export interface PreparedNetwork {
  /** A network namespace to join (/var/run/netns/…), or null for a new empty one made by runc. */
  namespacePath: string | null;
  /**
   * The container's /etc/resolv.conf (egress: resolvers a run can reach — the host's own resolver is out of
   * reach by design), or undefined to leave the image's file (none: there is no network to resolve on).
   */
  resolvConf?: string;
  /** Removes what prepare made. Idempotent. */
  release(): Promise<void>;
}

export interface ContainerNetworks {
  prepare(runKey: string, mode: NetworkMode): Promise<PreparedNetwork>;
  /** Removes what a crashed worker left (namespaces, veths, rules named by this worker's prefix). */
  removeOrphans(): Promise<void>;
}
