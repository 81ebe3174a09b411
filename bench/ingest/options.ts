import { parseArgs } from 'node:util';

export const HELP = `npm run bench:ingest -- [options]        (BENCH_QUICK=1: 10 s phases, for a first look)

WebSocket ingest load test of the live service, plus its main GET endpoints and a bulk zone
import. By default it starts its own service (node dist/src/server/main.js) on a free port with a
unique KEY_PREFIX, on the Redis at $REDIS_URL or 127.0.0.1:6379, seeds it with subjects and zones
through the API, measures, stops it and deletes its Redis keys. With --url it measures a service
you run (your own deployment: use a test instance; it adds subjects, zones and fixes to it).

Phases
  1. max rate     fixes as fast as acks allow (or --rate), --duration s after a short warm-up:
                  sustained fixes/s (acked), send→ack p50/p99 per message, service RSS over time
  2. half rate    50 % of phase 1's rate, paced, --duration/2 s: send→ack p50/p99 at that rate
  3. HTTP         autocannon, --http-duration s each: GET /v1/alerts, GET /v1/subjects/:id/trail,
                  GET /readyz with the operator token: requests/s, p50/p99 latency
  4. zones        one POST /v1/zones of --import-zones circles and small polygons: seconds
  5. check        fixes recorded (sum of XLEN of the run's trail streams, or the trail API for a
                  sample of subjects when Redis is not reachable) = fixes acked
Writes bench/results/ingest.json and prints each target as pass/miss.

Load shape (realistic tags)
  Every tag sends one fix per simulated minute, device time stamped; tags are spread over the
  connections, so each tag's fixes travel in order on one socket. Some tags lose coverage for
  10-60 simulated minutes and then upload their backlog in a burst (one in five newest-first, so
  the rest arrive late). Fix times are in the past (the simulated clock runs hundreds of times
  faster than real time and must not pass it), so the self-started service runs with
  ENGINE_SETTINGS offlineAfterS/noFixAfterS of 30 days: with the default 30/15 minutes its
  wall-clock health timers would open device_offline for every tag on every tick, which no real
  fleet reporting in real time would do. Its per-token limits (RATE_LIMIT_PER_S for HTTP,
  INGEST_RATE_LIMIT_PER_S for ingest messages) are raised so that the benchmark measures the
  endpoints, not the limiters. With --url, your service's own settings apply: expect
  device_offline episodes and 429s if it keeps the defaults.

Options
  --url URL              service to test (default: start one); only ever point it at a test instance
  --token TOKEN          operator token for --url (seeding, HTTP phase); default $IOM_TOKEN
  --ingest-token TOKEN   token for WS /v1/ingest (default: --token)
  --redis-url URL        with --url: the service's Redis, for the recorded-fixes check
  --key-prefix P         with --url: the service's KEY_PREFIX (e.g. iom); with it the check
                         reads Redis, without it the trail API
  --connections N        WebSocket connections (default 50)
  --batch N              fixes per message (default 100)
  --window N             messages in flight per connection in phase 1 (default 2; the service
                         reads at most INGEST_MAX_IN_FLIGHT=16 ahead)
  --rate N               phase 1 target fixes/s (default: as fast as acks allow)
  --duration S           phase 1 seconds (default 60; BENCH_QUICK=1: 10)
  --warmup S             unmeasured seconds before phase 1 (default 5; quick: 2)
  --tags N               devices sending fixes (default 20000; 5 % are victims' devices)
  --http-duration S      seconds per HTTP endpoint (default 10; quick: 3)
  --http-connections N   autocannon connections (default 10)
  --import-zones N       zones in the bulk import (default 100000; 0 skips it)
  --ts-format F          iso (RFC 3339 strings, the default) or epoch (milliseconds)
  --profile              run the self-started service with --cpu-prof and print its top frames
                         (phase 1 and phase 2 windows on their own)
  --service-node-options O  NODE_OPTIONS for the self-started service (e.g. "--max-semi-space-size=64")
  --keep-data            leave the run's Redis keys (self-started service) in place
  --seed N               data seed (default 1)
  --help                 this text
`;

export interface BenchOptions {
  url: string | null;
  token: string;
  ingestToken: string;
  redisUrl: string;
  keyPrefix: string | null;
  connections: number;
  batch: number;
  window: number;
  rate: number | null;
  durationS: number;
  warmupS: number;
  tags: number;
  httpDurationS: number;
  httpConnections: number;
  importZones: number;
  tsFormat: 'iso' | 'epoch';
  profile: boolean;
  serviceNodeOptions: string | null;
  keepData: boolean;
  seed: number;
  quick: boolean;
}

export class UsageError extends Error {}

export function parseOptions(argv: string[]): BenchOptions | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, 'ingest-token': { type: 'string' },
      'redis-url': { type: 'string' }, 'key-prefix': { type: 'string' },
      connections: { type: 'string' }, batch: { type: 'string' }, window: { type: 'string' }, rate: { type: 'string' },
      duration: { type: 'string' }, warmup: { type: 'string' }, tags: { type: 'string' },
      'http-duration': { type: 'string' }, 'http-connections': { type: 'string' }, 'import-zones': { type: 'string' },
      'ts-format': { type: 'string' }, profile: { type: 'boolean' }, 'service-node-options': { type: 'string' }, 'keep-data': { type: 'boolean' },
      seed: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return null;
  const quick = process.env.BENCH_QUICK === '1';
  const num = (name: string, raw: string | undefined, dflt: number, min: number, max: number): number => {
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  };
  const url = values.url ?? null;
  if (url !== null) {
    try {
      new URL(url);
    } catch {
      throw new UsageError(`--url must be a URL like http://127.0.0.1:8080, got ${JSON.stringify(url)}`);
    }
  }
  const token = values.token ?? process.env.IOM_TOKEN ?? '';
  if (url !== null && token === '') throw new UsageError('--url needs an operator token: --token TOKEN or IOM_TOKEN');
  const tsFormat = values['ts-format'] ?? 'iso';
  if (tsFormat !== 'iso' && tsFormat !== 'epoch') throw new UsageError(`--ts-format must be iso or epoch, got ${JSON.stringify(tsFormat)}`);
  const rate = values.rate === undefined ? null : num('rate', values.rate, 0, 1, 10_000_000);
  const o: BenchOptions = {
    url,
    token,
    ingestToken: values['ingest-token'] ?? token,
    redisUrl: values['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: values['key-prefix'] ?? null,
    connections: num('connections', values.connections, 50, 1, 10_000),
    batch: num('batch', values.batch, 100, 1, 1000),
    window: num('window', values.window, 2, 1, 1024),
    rate,
    durationS: num('duration', values.duration, quick ? 10 : 60, 1, 86_400),
    warmupS: num('warmup', values.warmup, quick ? 2 : 5, 0, 3600),
    tags: num('tags', values.tags, 20_000, 20, 5_000_000),
    httpDurationS: num('http-duration', values['http-duration'], quick ? 3 : 10, 0, 3600),
    httpConnections: num('http-connections', values['http-connections'], 10, 1, 10_000),
    importZones: num('import-zones', values['import-zones'], 100_000, 0, 10_000_000),
    tsFormat,
    profile: values.profile === true,
    serviceNodeOptions: values['service-node-options'] ?? null,
    keepData: values['keep-data'] === true,
    seed: num('seed', values.seed, 1, 0, 2 ** 31),
    quick,
  };
  if ((o.profile || o.serviceNodeOptions !== null) && o.url !== null) throw new UsageError('--profile and --service-node-options need the self-started service (no --url)');
  if (o.tags < o.connections) throw new UsageError(`--tags (${o.tags}) must be at least --connections (${o.connections})`);
  return o;
}
