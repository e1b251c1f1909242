// The web console: a single-page app built by Vite into dist/console (npm run build:console), served here on
// the API's port. Its assets come from /assets/, its index.html from / and from each of the app's own routes
// (so a reload of /runs/… works). /v1/*, /metrics, /healthz and /readyz are never answered by it. Every
// console response carries a strict Content-Security-Policy: the app loads only its own files and talks only
// to this origin's API. When the console was not built, / says how to build it.

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `npm run build:console` writes: dist/console, beside the compiled server (dist/src/api/routes). */
export const DEFAULT_CONSOLE_DIR = resolve(import.meta.dirname, '../../../console');

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The app's client-side routes (console/src/app.tsx, PAGES): each answers index.html, and the app picks the page. */
const APP_ROUTES = [
  '/',
  '/jobs',
  '/jobs/*',
  '/runs',
  '/runs/*',
  '/schedules',
  '/schedules/*',
  '/admin',
  '/admin/*',
];

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

export async function registerConsoleRoutes(app: FastifyInstance, consoleDir: string): Promise<void> {
  const indexPath = join(consoleDir, 'index.html');
  const hide = { schema: { hide: true } };
  if (!existsSync(indexPath)) {
    const message =
      `The Hourglass console is not built (no ${indexPath}).\n` +
      'Build it with `npm run build:console` (npm install and npm start build it too), then reload.\n' +
      'The REST API is at /v1/ (its OpenAPI document: /v1/openapi.json).\n';
    for (const url of APP_ROUTES) {
      app.get(url, hide, async (_request, reply) =>
        secure(reply).code(503).type('text/plain; charset=utf-8').send(message),
      );
    }
    return;
  }
  // Read once: the built app does not change while the server runs.
  const index = readFileSync(indexPath);
  await app.register(fastifyStatic, {
    root: join(consoleDir, 'assets'),
    prefix: '/assets/',
    index: false,
    // Vite names assets by content hash: a name never changes meaning, so it may be cached for good.
    immutable: true,
    maxAge: '365d',
    setHeaders: (reply) => {
      secure(reply);
    },
  });
  for (const url of APP_ROUTES) {
    app.get(url, hide, async (_request, reply) =>
      secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index),
    );
  }
}
