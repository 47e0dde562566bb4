import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { ConfigError } from '@flotilla/kit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface WebAppOptions {
  /** Folder with `index.html` and its assets (e.g. a Vite `dist`). */
  dir: string;
  /** What `GET /config.json` answers (already validated JSON text). */
  config: string | undefined;
  /** `AUTH_ISSUER`: its origin may be fetched from (discovery, token) and posted to. */
  issuer: string | undefined;
}

/** Serves a request the API routes did not match; undefined when it is not the web app's. */
export type WebFallback = (
  request: FastifyRequest,
  reply: FastifyReply,
  segments: readonly string[],
) => FastifyReply | undefined;

// Vite names built assets `name-<hash>.ext`; those never change, so they may be cached for good.
const HASHED = /[.-][A-Za-z0-9_-]{8,}\.(?:js|mjs|css|woff2?|png|jpe?g|gif|svg|webp|avif|ico|map)$/;

/**
 * The strict CSP for the app's HTML: its own scripts and styles only, and the issuer.
 * Images may also be `blob:` URLs (posters the app fetched with its bearer token, since
 * an `<img>` cannot send one); media only from this origin (the stream route).
 */
export function webCsp(issuer: string | undefined): string {
  const auth = issuer ? ` ${new URL(issuer).origin}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob:",
    "media-src 'self'",
    `connect-src 'self'${auth}`,
    `form-action 'self'${auth}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Validates `GATEWAY_WEB_CONFIG` once at start: a JSON object, served as it is. */
export function parseWebConfig(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      'GATEWAY_WEB_CONFIG',
      `GATEWAY_WEB_CONFIG is not valid JSON (${(err as Error).message})`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError('GATEWAY_WEB_CONFIG', 'GATEWAY_WEB_CONFIG must be a JSON object');
  return JSON.stringify(value);
}

/**
 * Registers `@fastify/static` (file lookup, traversal and dotfile checks, ranges, ETags) for
 * the web app, without routes of its own: the gateway's API routes are matched first, and
 * only a GET or HEAD they do not match comes here.
 */
export async function registerWebApp(
  scope: Pick<FastifyInstance, 'register'>,
  opts: WebAppOptions,
): Promise<WebFallback | undefined> {
  const root = resolve(opts.dir);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory() && statSync(resolve(root, 'index.html')).isFile();
  } catch {
    isDir = false;
  }
  if (!isDir)
    throw new ConfigError('GATEWAY_WEB_DIR', `GATEWAY_WEB_DIR: ${root} is not a folder with an index.html`);
  const csp = webCsp(opts.issuer);
  await scope.register(fastifyStatic, {
    root,
    serve: false,
    index: false,
    dotfiles: 'ignore',
    cacheControl: false,
    setHeaders(reply, path) {
      reply.header('x-content-type-options', 'nosniff');
      if (path.endsWith('.html')) {
        reply.header('content-security-policy', csp);
        reply.header('x-frame-options', 'DENY');
        reply.header('referrer-policy', 'no-referrer');
        reply.header('cache-control', 'no-cache');
      } else if (HASHED.test(path)) {
        reply.header('cache-control', 'public, max-age=31536000, immutable');
      } else {
        reply.header('cache-control', 'no-cache');
      }
    },
  });
  return (request, reply, segments) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if (segments.length === 1 && segments[0] === 'config.json' && opts.config !== undefined) {
      return reply
        .headers({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
        .type('application/json; charset=utf-8')
        .send(opts.config);
    }
    // The segments are decoded and free of `.`/`..`, separators and controls (normalisePath);
    // @fastify/static checks again against the root.
    return reply.sendFile(`/${segments.length === 0 ? 'index.html' : segments.join('/')}`);
  };
}
