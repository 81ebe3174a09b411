import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { clip, fromZod, strictErrorMap } from '../../engine/config.js';
import { unknownFieldMessage } from '../../engine/unknown-field.js';
import { roleName, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { HttpContext, PluginContext } from './context.js';

export type Kind = Principal['role']['kind'];

/** One route as documented (OpenAPI): validation and the document come from the same schemas. */
export interface RouteDoc {
  method: string;
  url: string;
  summary: string;
  roles: Kind[];
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The body as documented, when the handler checks more than `body` does (GeoJSON, bulk items). */
  docBody?: z.ZodType;
  /** What a success answers (documented; not checked at run time). */
  response?: z.ZodType;
  /** The success status when it is not 200 (e.g. 204). */
  status?: number;
}

export interface RouteDef<P, Q, B> {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  roles: Kind[];
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  docBody?: z.ZodType;
  response?: z.ZodType;
  status?: number;
  bodyLimit?: number;
  /** The handler gets the body as read (a Buffer; the route's own content parser), `body` only documents it. */
  rawBody?: boolean;
  /** Counted against the token's acknowledgement allowance (ACK_RATE_LIMIT_PER_S) too. */
  ackLimited?: boolean;
}

export type RouteHandler<P, Q, B> = (req: FastifyRequest, reply: FastifyReply, input: { params: P; query: Q; body: B; principal: Principal }) => Promise<unknown>;

/** Ids are stored as Redis keys (UTF-8): a lone surrogate would collapse two ids into one. */
export const IdParam = z.object({ id: z.string().min(1).max(128).refine((s) => s.isWellFormed(), 'must be well-formed Unicode') });

/** `?limit=` with a default and a maximum. */
export const limitQuery = (def: number, max: number) => z.strictObject({ limit: z.coerce.number().int().min(1).max(max).default(def) });

/** Parses a value with a schema; a failure is a VALIDATION error naming the path. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value, { error: strictErrorMap });
  if (!r.success) {
    const e = fromZod(r.error, where);
    throw new ApiError('VALIDATION', e.message, { path: e.path });
  }
  return r.data;
}

/**
 * Registers a route on a plugin's instance: the role check, then params, query and body
 * validated by their zod schemas, then the handler with typed input. The route is documented.
 */
export function routeOn(app: FastifyInstance, docs: RouteDoc[]) {
  return <P, Q, B>(def: RouteDef<P, Q, B>, handler: RouteHandler<P, Q, B>): void => {
    docs.push(def);
    app.route({
      method: def.method,
      url: def.url,
      ...(def.bodyLimit === undefined ? {} : { bodyLimit: def.bodyLimit }),
      config: { roles: def.roles, ackLimited: def.ackLimited === true },
      handler: async (req, reply) => {
        const principal = req.principal as Principal;
        if (!def.roles.includes(principal.role.kind)) {
          throw new ApiError('FORBIDDEN', `role ${roleName(principal.role)} may not ${def.method} ${def.url}`);
        }
        const parse = <T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T =>
          (schema === undefined ? (undefined as T) : parseOrThrow(schema, value ?? {}, where));
        refuseUnknownQuery(def.query, req.query);
        const input = {
          params: parse(def.params, req.params, ''),
          query: parse(def.query, req.query, 'query'),
          body: def.rawBody === true ? (req.body as B) : parse(def.body, req.body, 'body'),
          principal,
        };
        return handler(req, reply, input);
      },
    });
  };
}

/**
 * Unknown query parameters are refused like unknown body fields, on every route (a misspelt
 * filter must not silently widen a list). Checked against the keys of the route's query object;
 * a route without a query schema takes none.
 */
export function refuseUnknownQuery(schema: z.ZodType | undefined, query: unknown): void {
  const known = schema === undefined ? [] : schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : null;
  if (known === null || typeof query !== 'object' || query === null) return;
  for (const k of Object.keys(query)) {
    if (known.includes(k)) continue;
    const why = known.length === 0 ? 'unknown field; this route takes no query parameters' : unknownFieldMessage(k, known);
    throw new ApiError('VALIDATION', `query.${clip(k)}: ${why}`, { path: `query.${clip(k)}` });
  }
}

/** The roles a route declared (null: a route outside routeOn, e.g. /healthz or a 404). */
export function rolesOf(req: FastifyRequest): readonly Kind[] | null {
  const config = req.routeOptions.config as { roles?: Kind[] } | undefined;
  return config?.roles ?? null;
}

/**
 * Routes that need no token: the console's static files (they hold no data; every API call the
 * console makes carries the token). Declared with `config: { public: true }`.
 */
export function isPublic(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { public?: boolean } | undefined)?.public === true;
}

/** Whether the route counts against the acknowledgement allowance. */
export function isAckLimited(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { ackLimited?: boolean } | undefined)?.ackLimited === true;
}

/** A plugin of one resource: it gets the context and the instance to add its routes to. */
export type ResourcePlugin = (app: FastifyInstance, ctx: PluginContext) => Promise<void>;

/** The team a principal is limited to (null: every team). */
export function teamOf(p: Principal): string | null {
  return p.role.kind === 'team' ? p.role.team : null;
}

/** Changes need the engine loaded and not recovering. */
export function mustBeReady(ctx: HttpContext): void {
  if (!ctx.host.ready) throw new ApiError('NOT_READY', 'the service is loading or recovering its state; try again shortly');
}

/** Appends to the audit log (who changed or read what, when); kept in Redis, read by admin. */
export async function audit(ctx: HttpContext, action: string, target: string, who?: Principal, extra?: Record<string, unknown>): Promise<void> {
  await ctx.audit.append(action, target, who, extra);
}
