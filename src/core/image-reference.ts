// The registry host of an image reference, by Docker's rule: the first path component is a host when it has
// a `.` or a `:` or is `localhost`; otherwise the image is Docker Hub's. Minimal on purpose: the full parser
// (tag, digest, validation) belongs with the image source; this is what the worker needs to find a tenant's
// registry login. Pure.

import { DEFAULT_REGISTRY_HOST, normalizeRegistryHost } from './registry-host.js';

/** `registry.example.com:5000/team/app:1` → `registry.example.com:5000`; `python:3.11` → `docker.io`. */
export function registryHostOf(reference: string): string {
  const slash = reference.indexOf('/');
  if (slash < 0) return DEFAULT_REGISTRY_HOST;
  const first = reference.slice(0, slash);
  const isHost = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!isHost) return DEFAULT_REGISTRY_HOST;
  try {
    return normalizeRegistryHost(first, 'image');
  } catch {
    // Not a host we could hold a login for: looked up as given, it matches none.
    return first.toLowerCase();
  }
}
