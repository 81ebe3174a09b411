import { z } from 'zod';
import { API_ERRORS } from '../errors.js';
import type { RouteDoc } from './route.js';

const ErrorBody = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });

/**
 * The OpenAPI 3.1 document of the routes as registered: parameters, bodies and responses from
 * the same zod objects that check them. Fields are shown as a client writes them (`io: input`):
 * strict objects have `additionalProperties: false`, defaults are shown and optional.
 */
export function openApi(docs: RouteDoc[]): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const schema = (s: z.ZodType): unknown => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
  for (const d of docs) {
    const path = d.url.replace(/:(\w+)/g, '{$1}');
    const body = d.docBody ?? d.body;
    const parameters: object[] = [];
    for (const [where, s] of [['path', d.params], ['query', d.query]] as const) {
      if (s === undefined) continue;
      const js = schema(s) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, p] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: p });
      }
    }
    (paths[path] ??= {})[d.method.toLowerCase()] = {
      summary: d.summary,
      description: `Roles: ${d.roles.map((r) => (r === 'team' ? 'team:<id>' : r)).join(', ')}`,
      security: [{ bearer: [] }],
      parameters,
      ...(body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: schema(body) } } } }),
      responses: {
        [d.status ?? 200]: d.response === undefined || d.status === 204
          ? { description: d.status === 204 ? 'Done; no body' : 'OK' }
          : { description: 'OK', content: { 'application/json': { schema: schema(d.response) } } },
        default: { description: 'Error: {code, message, details?}; codes in info.description and docs/api-errors.md', content: { 'application/json': { schema: schema(ErrorBody) } } },
      },
    };
  }
  paths['/healthz'] = { get: { summary: 'Liveness (no token needed)', responses: { 200: { description: 'OK' } } } };
  // The console's static files (http/console.ts): no token, no data.
  paths['/console'] = { get: { summary: 'The monitoring console: redirects to /console/ (no token needed)', security: [], responses: { 302: { description: 'To /console/' } } } };
  paths['/console/config.json'] = { get: { summary: 'The console\'s configuration: {"mapStyleUrl": string|null} (no token needed)', security: [], responses: { 200: { description: 'OK' } } } };
  paths['/console/'] = { get: { summary: 'The console\'s page (no token needed; its own Content-Security-Policy)', security: [], responses: { 200: { description: 'HTML' } } } };
  paths['/console/assets/{file}'] = { get: { summary: 'The console\'s hashed assets, cached for a year (no token needed)', security: [], responses: { 200: { description: 'JavaScript or CSS' } } } };
  paths['/v1/ingest'] = { get: { summary: 'WebSocket: send a fix or a JSON array of fixes per message; replies {"ack":[[deviceId,seq],...],"errors":[...]} once recorded', description: 'Roles: ingest, operator, admin', responses: { 101: { description: 'Switching protocols' } } } };
  paths['/v1/alerts/stream'] = { get: { summary: 'WebSocket: live alert events (a team token sees its own team only)', description: 'Roles: operator, admin, team:<id>', responses: { 101: { description: 'Switching protocols' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'iom-geofence', version: '0.1.0', description: 'Electronic monitoring and exclusion-zone alerts. Error codes: ' + Object.keys(API_ERRORS).join(', ') },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
