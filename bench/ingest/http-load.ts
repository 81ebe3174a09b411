import autocannon from 'autocannon';

/**
 * The HTTP phase: autocannon (in this process, through its programmatic API) against one GET
 * endpoint at a time, with the operator token, for a fixed time. Requests/s is autocannon's
 * per-second mean; latencies are its per-request percentiles (ms). Anything but 2xx is counted
 * and reported beside the figures: a rate of 401s or 429s is not a rate of answers.
 */

export interface HttpResult {
  name: string;
  path: string;
  connections: number;
  durationS: number;
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Mean response size, bytes. */
  bytesPerResponse: number;
}

export async function httpLoad(o: { name: string; baseUrl: string; paths: string[]; token: string; connections: number; durationS: number }): Promise<HttpResult> {
  const r = await autocannon({
    url: o.baseUrl,
    connections: o.connections,
    duration: o.durationS,
    headers: { authorization: `Bearer ${o.token}` },
    // Each connection cycles through the paths (e.g. the trails of several subjects).
    requests: o.paths.map((path) => ({ method: 'GET', path })),
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = Number(s.count);
  const total = r.requests.total;
  return {
    name: o.name,
    path: o.paths.length === 1 ? (o.paths[0] as string) : `${o.paths[0] as string} (+${o.paths.length - 1} more like it)`,
    connections: o.connections,
    durationS: o.durationS,
    requestsPerSec: r.requests.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    requests: total,
    non2xx: r.non2xx,
    errors: r.errors,
    statusCodes,
    bytesPerResponse: total > 0 ? Math.round(r.throughput.total / total) : NaN,
  };
}
