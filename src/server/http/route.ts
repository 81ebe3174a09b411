import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fromZod } from '../../engine/config.js';
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
}

export interface RouteDef<P, Q, B> {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  url: string;
  summary: string;
  roles: Kind[];
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
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
export const limitQuery = (def: number, max: number) => z.object({ limit: z.coerce.number().int().min(1).max(max).default(def) });

/** Parses a value with a schema; a failure is a VALIDATION error naming the path. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const r = schema.safeParse(value);
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

/** The roles a route declared (null: a route outside routeOn, e.g. /healthz or a 404). */
export function rolesOf(req: FastifyRequest): readonly Kind[] | null {
  const config = req.routeOptions.config as { roles?: Kind[] } | undefined;
  return config?.roles ?? null;
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
