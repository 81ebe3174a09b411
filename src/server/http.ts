import Fastify, { errorCodes, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
// Not re-exported by the package's index; the class itself, for an instanceof check.
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { pino, type Logger } from 'pino';
import { bearer, roleName } from './auth.js';
import { StorageUnavailableError } from './committer.js';
import { ApiError } from './errors.js';
import { checkJsonText } from './json-guard.js';
import { alerts } from './http/alerts.js';
import { consoleApp } from './http/console.js';
import { crimeMatches } from './http/crime-matches.js';
import { devices } from './http/devices.js';
import { evidence } from './http/evidence.js';
import type { HttpContext, PluginContext } from './http/context.js';
import { ops } from './http/ops.js';
import { positions } from './http/positions.js';
import { isAckLimited, isPublic, rolesOf, type ResourcePlugin, type RouteDoc } from './http/route.js';
import { subjects } from './http/subjects.js';
import { teams } from './http/teams.js';
import { zones } from './http/zones.js';
import { TokenBuckets } from './token-bucket.js';

export type { HttpContext } from './http/context.js';

/**
 * The service's logger, made before anything else and handed to fastify. Tokens never reach the
 * log; bodies (positions) are never logged at all.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["sec-websocket-protocol"]'], censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; routeOptions?: { url?: string }; url: string }) => ({ method: req.method, route: req.routeOptions?.url ?? req.url.split('?')[0] }),
    },
  });
}

/** One plugin per resource, in registration (and OpenAPI) order. */
const RESOURCES: ResourcePlugin[] = [ops, zones, subjects, alerts, teams, devices, positions, evidence, crimeMatches, consoleApp];

/**
 * The HTTP API: fastify with the shared pieces (JSON parsing, bearer auth and the per-token
 * rate limit, security headers, the {code, message} error mapping), and one plugin per resource
 * under http/.
 */
export async function buildHttp(ctx: HttpContext, logger: Logger): Promise<FastifyInstance> {
  const base: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance: base,
    bodyLimit: ctx.settings.httpBodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Ids may be 128 characters and episode ids several of those.
    routerOptions: { maxParamLength: 512 },
    // Router faults (a malformed percent-encoding in the path…) get a registered code too.
    frameworkErrors: (error, _req, reply) => {
      void (reply as FastifyReply).code(400).send({ code: 'VALIDATION', message: error.message });
    },
    // Faults before a request exists (an oversize request line or headers): still {code, message}.
    clientErrorHandler: (error: Error & { code?: string }, socket) => {
      if (!socket.writable) return socket.destroy();
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify(tooLarge ? { code: 'HEADERS_TOO_LARGE', message: 'request line and headers are larger than the server accepts' } : { code: 'VALIDATION', message: 'malformed HTTP request' });
      socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  });
  // JSON bodies: refuse nesting deeper than MAX_JSON_DEPTH before parsing (nothing the API takes
  // is deeper than ~10; very deep values would overflow the stack wherever they are walked),
  // then fastify's own parser with its prototype-poisoning checks.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  // JSON only: fastify's text/plain parser would hand a string to the schemas (a 400 that hides
  // the real fault); without it any other content type is 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const tooDeep = checkJsonText(body as string);
    if (tooDeep !== null) {
      done(new ApiError('VALIDATION', tooDeep), undefined);
      return;
    }
    defaultJson(req, body as string, done);
  });
  app.decorateRequest('principal', null);
  const docs: RouteDoc[] = [];
  const buckets = new TokenBuckets(ctx.settings.rateLimitPerS);
  // Acknowledgements are kept for good (the decision record): a much smaller allowance per token.
  const ackBuckets = new TokenBuckets(ctx.settings.ackRateLimitPerS);

  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.url === '/healthz' || isPublic(req)) return;
    const token = bearer(req.headers.authorization);
    if (token === null) throw new ApiError('AUTH_REQUIRED', 'send "Authorization: Bearer <token>"');
    const principal = ctx.tokens.lookup(token);
    if (principal === null) throw new ApiError('AUTH_INVALID', 'the bearer token is not valid');
    req.principal = principal;
    if (!buckets.tryTake(principal.tokenId)) throw new ApiError('RATE_LIMITED', `more than ${buckets.ratePerS} requests per second from this token`);
    // The role check runs here, before the content parser: a token whose role may not use the
    // route is refused without its body being read (so only operator/admin ever reach the bulk
    // import's large body limit).
    const roles = rolesOf(req);
    if (roles === null) throw new ApiError('NOT_FOUND', 'no such route');
    if (!roles.includes(principal.role.kind)) {
      throw new ApiError('FORBIDDEN', `role ${roleName(principal.role)} may not ${req.method} ${req.routeOptions.url ?? ''}`);
    }
    if (isAckLimited(req) && !ackBuckets.tryTake(principal.tokenId)) {
      throw new ApiError('RATE_LIMITED', `more than ${ackBuckets.ratePerS} acknowledgements per second from this token`);
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // A route may send a narrower policy of its own (the evidence pack's HTML allows its inline stylesheet).
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    // Refused attempts by a known token (403, 404) are audited: probing is itself evidence.
    if (err instanceof ApiError && (err.status === 403 || err.status === 404) && req.principal !== null) {
      const path = req.url.split('?')[0];
      void ctx.audit.append('refused', `${req.method} ${path.length > 300 ? `${path.slice(0, 300)}…` : path}`, req.principal, { status: err.status, code: err.code }).catch(() => undefined);
    }
    if (err instanceof ApiError) return reply.code(err.status).send({ code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) });
    if (err instanceof StorageUnavailableError) return reply.code(503).send({ code: 'STORAGE_UNAVAILABLE', message: err.message });
    if (isRedisUnavailable(err)) return reply.code(503).send({ code: 'STORAGE_UNAVAILABLE', message: 'Redis is unavailable; nothing was changed; try again' });
    if (err instanceof errorCodes.FST_ERR_CTP_BODY_TOO_LARGE) return reply.code(413).send({ code: 'PAYLOAD_TOO_LARGE', message: err.message });
    if (err.statusCode === 415) return reply.code(415).send({ code: 'UNSUPPORTED_MEDIA_TYPE', message: err.message });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ code: 'VALIDATION', message: err.message });
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).send({ code: 'INTERNAL', message: 'internal error' });
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: 'no such route' }));

  const plugins: PluginContext = { ...ctx, docs };
  for (const plugin of RESOURCES) await app.register(async (child) => plugin(child, plugins));

  await app.ready();
  return app;
}

export { jsonDepth } from './json-guard.js';

/** ioredis refuses commands at once while disconnected (no offline queue): that is a 503, not a 500. */
function isRedisUnavailable(err: Error): boolean {
  return err instanceof MaxRetriesPerRequestError || /Stream isn't writeable|Connection is closed|ECONNREFUSED|enableOfflineQueue/.test(err.message);
}

