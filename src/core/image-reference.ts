// An image reference as a job gives it, `[host[:port]/]path[:tag][@sha256:<hex>]`, read the way Docker reads
// one: a first component with a dot or a colon, or `localhost`, is the registry host; otherwise the host is
// docker.io, and a one-component path is under library/. Without a tag or digest the tag is `latest`.

import { invalid } from './errors.js';

export interface ImageReference {
  /** host or host:port, lowercase. */
  registry: string;
  repository: string;
  tag: string | null;
  /** sha256:<64 hex>, when the reference pins one. */
  digest: string | null;
}

const DEFAULT_REGISTRY = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;

export function parseImageReference(reference: string, field = 'image'): ImageReference {
  let rest = reference;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest))
      throw invalid(field, `digest ${JSON.stringify(digest)} is not sha256: and 64 hex digits`);
  }
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  const hasHost = slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasHost ? first.toLowerCase() : DEFAULT_REGISTRY;
  if (hasHost && !HOST.test(first))
    throw invalid(field, `registry host ${JSON.stringify(first)} is not a host[:port]`);
  let path = hasHost ? rest.slice(slash + 1) : rest;
  let tag: string | null = null;
  const colon = path.lastIndexOf(':');
  if (colon !== -1 && !path.slice(colon).includes('/')) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag))
      throw invalid(field, `tag ${JSON.stringify(tag)} is not a valid tag ([A-Za-z0-9_.-], at most 128)`);
  }
  if (path === '') throw invalid(field, 'has no repository name');
  const components = path.split('/');
  for (const component of components) {
    if (!COMPONENT.test(component)) {
      throw invalid(
        field,
        `repository ${JSON.stringify(path)} has an invalid component ${JSON.stringify(component)} (lowercase letters, digits, separators)`,
      );
    }
  }
  const repository = registry === DEFAULT_REGISTRY && components.length === 1 ? `library/${path}` : path;
  if (tag === null && digest === null) tag = 'latest';
  return { registry, repository, tag, digest };
}

/** The reference skopeo is given: `docker://host/repo:tag` or `docker://host/repo@digest`. */
export function transportReference(ref: ImageReference, digest: string | null = ref.digest): string {
  const base = `docker://${ref.registry}/${ref.repository}`;
  return digest !== null ? `${base}@${digest}` : `${base}:${ref.tag ?? 'latest'}`;
}
