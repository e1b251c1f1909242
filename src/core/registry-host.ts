// A registry host as tenants name it (`host[:port]`): the key under which a tenant's registry login is kept and
// looked up for an image reference (registryHostOf). Normalised so that one registry has one name: lower case, Docker Hub's
// aliases folded into `docker.io`, an IPv6 literal in brackets. Pure.

import { invalid } from './errors.js';
import { parseImageReference } from './image-reference.js';

/** Docker Hub answers under these names too; an image without a host is Docker Hub's (`docker.io`). */
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);
export const DEFAULT_REGISTRY_HOST = 'docker.io';

const MAX_HOST_CHARS = 253 + 6; // a DNS name and `:65535`
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => DNS_LABEL.test(label));
}

/** A bracketed IPv6 literal's inside: hex groups and colons (one `::` at most), optionally ending in IPv4. */
function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/.test(text) || text.split('::').length > 2) return false;
  const groups = text.split(':');
  const last = groups[groups.length - 1] ?? '';
  const tail = last.includes('.') ? (IPV4.test(last) ? 2 : -1) : 1;
  if (tail < 0) return false;
  const hexGroups = groups.slice(0, last.includes('.') ? -1 : undefined).filter((g) => g !== '');
  if (!hexGroups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return false;
  const count = hexGroups.length + (tail === 2 ? 2 : 0);
  return text.includes('::') ? count < 8 : count === 8;
}

/** The normal form of `host[:port]`, or why it is not one; `field` names it in the error. */
export function normalizeRegistryHost(input: string, field = 'host'): string {
  const text = input.trim().toLowerCase();
  if (text === '' || text.length > MAX_HOST_CHARS) {
    throw invalid(field, `must be a registry host, host[:port], of at most ${MAX_HOST_CHARS} characters`);
  }
  const match = /^(\[[^\]]*\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  const name = match?.[1] ?? '';
  const port = match?.[2];
  const bracketed = name.startsWith('[');
  const nameOk = bracketed ? isIpv6(name.slice(1, -1)) : IPV4.test(name) || isDnsName(name);
  if (match === null || !nameOk) {
    throw invalid(
      field,
      `${JSON.stringify(input)} is not a registry host: give a DNS name or an IP address, with an optional ` +
        ':port (registry.example.com, 10.0.0.5:5000, [::1]:5000), no scheme or path',
    );
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) {
    throw invalid(field, `the port of ${JSON.stringify(input)} must be from 1 to 65535`);
  }
  if (port === undefined && DOCKER_HUB_ALIASES.has(name)) return DEFAULT_REGISTRY_HOST;
  return port === undefined ? name : `${name}:${port}`;
}

/**
 * The host a tenant's login for `reference` is kept under: its registry (parseImageReference, Docker's rule)
 * in normal form, so `index.docker.io/x` and `x` find the same login; null for a reference that does not
 * parse (the image source reports it).
 */
export function registryHostOf(reference: string): string | null {
  try {
    return normalizeRegistryHost(parseImageReference(reference).registry, 'image');
  } catch {
    return null;
  }
}
