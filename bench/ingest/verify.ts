import { Redis } from 'ioredis';
import { ApiClient, mapLimit } from '../../src/demo/api-client.js';
import { unlinkPrefix } from '../common/redis-keys.js';

/**
 * Did every acknowledged fix get recorded? Two ways to count:
 * - Redis (when the benchmark knows the service's Redis and KEY_PREFIX): the sum of XLEN over
 *   the run's devices' trail streams (`<prefix>:trail:<deviceId>`), against every ack received;
 * - the trail API otherwise: for a sample of subjects, the features GET /v1/subjects/:id/trail
 *   returns, against the acks received for their devices.
 * Trails are capped per device (TRAIL_MAX_PER_DEVICE, default 20,000, trimmed approximately), so
 * the check also reports the longest trail: if it nears the cap the count can fall short.
 */

export interface VerifyResult {
  method: 'redis-xlen' | 'trail-api-sample';
  devices: number;
  recorded: number;
  acked: number;
  equal: boolean;
  longestTrail: number;
  detail: string;
}

export async function verifyByRedis(redisUrl: string, keyPrefix: string, deviceIds: readonly string[], acked: number): Promise<VerifyResult> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let recorded = 0;
    let longest = 0;
    let withTrail = 0;
    for (let i = 0; i < deviceIds.length; i += 2000) {
      const pipe = redis.pipeline();
      for (const d of deviceIds.slice(i, i + 2000)) pipe.xlen(`${keyPrefix}:trail:${d}`);
      for (const [err, n] of (await pipe.exec()) ?? []) {
        if (err) throw err;
        const v = Number(n);
        recorded += v;
        if (v > 0) withTrail++;
        if (v > longest) longest = v;
      }
    }
    return {
      method: 'redis-xlen', devices: withTrail, recorded, acked, equal: recorded === acked, longestTrail: longest,
      detail: `sum of XLEN ${keyPrefix}:trail:<device> over ${deviceIds.length} devices (${withTrail} with fixes)`,
    };
  } finally {
    redis.disconnect();
  }
}

export async function verifyByTrailApi(api: ApiClient, sample: { subjectId: string; deviceId: string }[], ackedByDevice: ReadonlyMap<string, number>): Promise<VerifyResult> {
  let recorded = 0, acked = 0, longest = 0;
  const mismatched: string[] = [];
  await mapLimit(sample, 8, async ({ subjectId, deviceId }) => {
    const r = await api.get<{ features: unknown[] }>(`/v1/subjects/${encodeURIComponent(subjectId)}/trail?limit=50000`);
    const n = r.features.length;
    const a = ackedByDevice.get(deviceId) ?? 0;
    recorded += n;
    acked += a;
    if (n > longest) longest = n;
    if (n !== a) mismatched.push(`${subjectId}: ${n} recorded, ${a} acked`);
  });
  return {
    method: 'trail-api-sample', devices: sample.length, recorded, acked, equal: mismatched.length === 0, longestTrail: longest,
    detail: mismatched.length === 0 ? `trail API for ${sample.length} sampled subjects` : `mismatches: ${mismatched.slice(0, 5).join('; ')}`,
  };
}

/** Deletes every key under `<keyPrefix>:` (the self-started service's whole state). */
export async function deletePrefix(redisUrl: string, keyPrefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    return await unlinkPrefix(redis, keyPrefix, 2000);
  } finally {
    redis.disconnect();
  }
}

/** Redis's own CPU seconds and memory, for the report. */
export async function redisInfo(redisUrl: string): Promise<{ cpuSeconds: number; usedMemoryMB: number; appendonly: string; version: string }> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    const info = await redis.info();
    const field = (k: string): string => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    let appendonly = '?';
    try {
      appendonly = ((await redis.config('GET', 'appendonly')) as string[])[1] ?? '?';
    } catch {
      // CONFIG disabled
    }
    return {
      cpuSeconds: Number(field('used_cpu_user')) + Number(field('used_cpu_sys')),
      usedMemoryMB: Math.round(Number(field('used_memory')) / 2 ** 20),
      appendonly,
      version: field('redis_version'),
    };
  } finally {
    redis.disconnect();
  }
}
