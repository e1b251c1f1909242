// Pins the address skopeo dials: a one-call HTTP CONNECT proxy on loopback that skopeo is pointed at
// (HTTPS_PROXY). For every connection skopeo opens (the registry, a token server, a blob redirect to a CDN)
// the proxy resolves the host itself, refuses it unless every address is public, and connects to exactly
// the address it checked, so DNS rebinding between check and dial cannot reach an internal address. TLS stays
// end to end through the tunnel, so certificates are still verified against the host name by skopeo.
// Limit (Go's proxy rules): a target that is "localhost" or a loopback IP literal is dialed directly, never
// proxied; see docs/containers.md "Registries and SSRF".

import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isPublicAddress, systemResolver, type Resolver } from './registry-guard.js';

export interface DialGuard {
  /** Environment for the skopeo child: proxy variables, and NO_PROXY for the operator's insecure hosts. */
  env: NodeJS.ProcessEnv;
  /** Why the proxy refused a connection during this call, if it did. */
  refusal(): string | null;
  close(): Promise<void>;
}

export async function startDialGuard(
  insecure: ReadonlySet<string>,
  resolve: Resolver = systemResolver,
): Promise<DialGuard> {
  let refused: string | null = null;
  const sockets = new Set<Duplex>();
  const server = createServer((req, res) => {
    // Plain-HTTP requests through the proxy are never needed: only insecure-listed hosts use HTTP, and
    // those bypass the proxy through NO_PROXY.
    refused ??= `plain HTTP to ${req.url ?? '?'} is not allowed`;
    res.writeHead(403).end();
  });
  server.on('connect', (req: IncomingMessage, client: Duplex) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    void tunnel(req.url ?? '', client);
  });

  async function tunnel(target: string, client: Duplex): Promise<void> {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    const host = m?.[1];
    const port = Number(m?.[2]);
    if (!host || !(port > 0 && port < 65536)) return deny(client, `bad CONNECT target ${target}`);
    let addresses: string[];
    try {
      addresses = insecure.has(target.toLowerCase()) ? [host] : await resolve(host);
    } catch {
      return deny(client, `${host} could not be resolved`);
    }
    if (!insecure.has(target.toLowerCase())) {
      for (const address of addresses) {
        if (!isPublicAddress(address))
          return deny(client, `${host} resolves to ${address}, which is not a public address`);
      }
    }
    const address = addresses[0];
    if (address === undefined) return deny(client, `${host} has no address`);
    const upstream: Socket = connect({ host: address, port });
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  function deny(client: Duplex, why: string): void {
    refused ??= why;
    client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
  }

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const proxy = `http://127.0.0.1:${port}`;
  const noProxy = [...insecure].join(',');
  return {
    env: {
      HTTPS_PROXY: proxy,
      https_proxy: proxy,
      HTTP_PROXY: proxy,
      http_proxy: proxy,
      NO_PROXY: noProxy,
      no_proxy: noProxy,
    },
    refusal: () => refused,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
