import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { ApiError } from '../errors.js';
import type { ResourcePlugin } from './route.js';

/**
 * The monitoring console (src/console/, built by Vite into dist/console/) served at /console.
 * The files hold no data, so they need no token (the console's every API call carries one);
 * they get their own Content-Security-Policy: scripts, styles and workers from this origin only,
 * connections to this origin (and the configured basemap's), nothing inline, no framing.
 * Hashed assets are cached for a year; index.html and config.json are revalidated every time.
 */
const here = dirname(fileURLToPath(import.meta.url));
// Compiled (dist/src/server/http → dist/console) or run from source (src/server/http → dist/console).
export const CONSOLE_ROOT = [resolve(here, '../../../console'), resolve(here, '../../../dist/console')].find((d) => existsSync(resolve(d, 'index.html'))) ?? resolve(here, '../../../console');

/** The Content-Security-Policy of the console's pages, given the configured basemap (or ''). */
export function consoleCsp(mapStyleUrl: string): string {
  const extra = mapStyleUrl === '' ? '' : ` ${new URL(mapStyleUrl).origin}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: blob:${extra}`,
    "font-src 'self'",
    `connect-src 'self'${extra}`,
    "worker-src 'self'",
    "manifest-src 'self'",
    "media-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const ASSET_RE = /^assets\/[A-Za-z0-9._-]+$/;

export const consoleApp: ResourcePlugin = async (app, ctx) => {
  const csp = consoleCsp(ctx.settings.mapStyleUrl);
  const built = existsSync(resolve(CONSOLE_ROOT, 'index.html'));
  await app.register(fastifyStatic, { root: CONSOLE_ROOT, serve: false });
  // Runs after the service-wide onSend (parent hooks first), so these replace its API headers.
  app.addHook('onSend', async (req, reply) => {
    if (!req.url.startsWith('/console')) return;
    reply.header('content-security-policy', csp);
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    const immutable = reply.statusCode === 200 && req.url.startsWith('/console/assets/');
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  });
  const config = { public: true };
  const notBuilt = (): never => {
    throw new ApiError('NOT_FOUND', 'the console is not built: run "npm run build"');
  };
  app.get('/console', { config }, async (_req, reply) => reply.redirect('/console/', 302));
  app.get('/console/config.json', { config }, async () => ({ mapStyleUrl: ctx.settings.mapStyleUrl === '' ? null : ctx.settings.mapStyleUrl }));
  app.get('/console/', { config }, async (_req, reply) => {
    if (!built) return notBuilt();
    return reply.type('text/html; charset=utf-8').sendFile('index.html', { cacheControl: false });
  });
  app.get('/console/assets/:file', { config }, async (req, reply) => {
    if (!built) return notBuilt();
    const file = `assets/${(req.params as { file: string }).file}`;
    if (ASSET_RE.test(file) && existsSync(resolve(CONSOLE_ROOT, file))) return reply.sendFile(file, { cacheControl: false });
    throw new ApiError('NOT_FOUND', 'no such console file');
  });
};
