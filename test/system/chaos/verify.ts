/**
 * End-of-scenario checks against what is in Redis and what the receiver and stream saw:
 *  - trail: every acknowledged [deviceId, seq] is in the device's trail stream exactly once
 *    (XRANGE over <prefix>:trail:<deviceId>); fixes recorded but never acknowledged are counted
 *    (allowed: the client gave up on them or the reply was lost);
 *  - alerts: the episode events in Redis (<prefix>:alerts + each <prefix>:alert:<id> hash) are
 *    exactly the reference engine's (world.expected); GET /v1/alerts?state=all agrees in count;
 *  - delivery: every expected event reached its team's receiver with a valid signature and a
 *    2xx at least once; repeats are counted; the live stream never showed a key twice on one
 *    connection.
 */
import { Redis } from 'ioredis';
import type { IngestLoad } from './load.js';
import type { Receiver } from './receiver.js';
import type { Stack } from './stack.js';
import type { AlertStream } from './stream.js';
import { until } from './util.js';
import type { World } from './world.js';

export interface TrailCheck {
  acked: number;
  recorded: number;
  missing: number;
  duplicated: number;
  unacknowledgedRecorded: number;
  samples: string[];
}

export async function checkTrails(redisUrl: string, prefix: string, world: World, loads: Pick<IngestLoad, 'ackedSeq' | 'failed'>[]): Promise<TrailCheck> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  const out: TrailCheck = { acked: 0, recorded: 0, missing: 0, duplicated: 0, unacknowledgedRecorded: 0, samples: [] };
  const ackedUpTo = new Map<number, number>();
  const failed = new Set<string>();
  for (const l of loads) {
    for (const [i, s] of l.ackedSeq) ackedUpTo.set(i, Math.max(ackedUpTo.get(i) ?? 0, s));
    for (const f of l.failed) failed.add(f);
  }
  try {
    for (let i = 0; i < world.deviceIds.length; i++) {
      const deviceId = world.deviceIds[i]!;
      const counts = new Map<number, number>();
      let from = '-';
      for (;;) {
        const page = await redis.xrange(`${prefix}:trail:${deviceId}`, from, '+', 'COUNT', 5000);
        for (const [, fields] of page) {
          let seq = NaN;
          for (let k = 0; k + 1 < fields.length; k += 2) if (fields[k] === 's') seq = Number(fields[k + 1]);
          counts.set(seq, (counts.get(seq) ?? 0) + 1);
          out.recorded++;
        }
        if (page.length < 5000) break;
        from = `(${page[page.length - 1]![0]}`;
      }
      const upTo = ackedUpTo.get(i) ?? 0;
      for (let seq = 1; seq <= upTo; seq++) {
        if (failed.has(`${i}#${seq}`)) continue;
        out.acked++;
        const n = counts.get(seq) ?? 0;
        if (n === 0) {
          out.missing++;
          if (out.samples.length < 8) out.samples.push(`acked ${deviceId}#${seq} not in the trail`);
        }
      }
      for (const [seq, n] of counts) {
        if (n > 1) {
          out.duplicated += n - 1;
          if (out.samples.length < 8) out.samples.push(`${deviceId}#${seq} recorded ${n} times`);
        }
        if (!(seq >= 1 && seq <= upTo)) out.unacknowledgedRecorded++;
      }
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

export interface AlertCheck {
  expected: number;
  recorded: number;
  /** Expected events missing from Redis. */
  missingRecorded: number;
  /** Events in Redis the reference engine did not raise (an episode doubled, reopened, ...). */
  unexpectedRecorded: number;
  /** GET /v1/alerts?state=all episode count (capped at 1000) vs. episodes in Redis. */
  apiEpisodes: number;
  redisEpisodes: number;
  delivered: number;
  undelivered: number;
  dupKeys: number;
  dupExtra: number;
  rawRepeats: number;
  badSignatures: number;
  deadLetters: number;
  streamSeen: number;
  streamDupWithin: number;
  streamRepeatsAcross: number;
  samples: string[];
}

async function recordedEvents(redisUrl: string, prefix: string): Promise<{ keys: Set<string>; episodes: number }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => undefined);
  try {
    const ids = await redis.zrange(`${prefix}:alerts`, 0, -1);
    const keys = new Set<string>();
    for (let k = 0; k < ids.length; k += 500) {
      const pipe = redis.pipeline();
      for (const id of ids.slice(k, k + 500)) pipe.hkeys(`${prefix}:alert:${id}`);
      const rows = (await pipe.exec()) ?? [];
      rows.forEach(([err, fields], j) => {
        if (err) throw err;
        for (const f of fields as string[]) if (f === 'opened' || f === 'updated' || f === 'closed') keys.add(`${ids[k + j]}:${f}`);
      });
    }
    return { keys, episodes: ids.length };
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits (up to waitMs) until every expected event has been delivered, then compares. Failing
 * conditions are returned in `failures`.
 */
export async function checkAlerts(stack: Stack, redisUrl: string, world: World, receiver: Receiver, stream: AlertStream, waitMs: number): Promise<{ check: AlertCheck; failures: string[] }> {
  const failures: string[] = [];
  const samples: string[] = [];
  const expected = [...world.expected.values()];
  const pathOf = new Map(world.teams.map((t) => [t.id, t.path]));
  const undelivered = (): string[] => {
    const byPath = new Map<string, Set<string>>();
    for (const t of world.teams) byPath.set(t.path, receiver.delivered(t.path));
    return expected.filter((e) => !(byPath.get(pathOf.get(e.team) ?? '')?.has(e.key) ?? false)).map((e) => e.key);
  };
  await until(() => undelivered().length === 0, waitMs, 250);
  // Let the live stream catch up with the last deliveries.
  await until(() => expected.every((e) => stream.seen.has(e.key)), 3000, 100);
  const missing = undelivered();
  const rec = await recordedEvents(redisUrl, stack.prefix);
  const missingRecorded = expected.filter((e) => !rec.keys.has(e.key));
  const expectedKeys = new Set(expected.map((e) => e.key));
  const unexpected = [...rec.keys].filter((k) => !expectedKeys.has(k));
  let apiEpisodes = NaN;
  try {
    const r = await stack.api().get<{ alerts: unknown[] }>('/v1/alerts?state=all&limit=1000');
    apiEpisodes = r.alerts.length;
  } catch (e) {
    samples.push(`GET /v1/alerts failed: ${(e as Error).message}`);
  }
  let deadLetters = 0;
  {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    redis.on('error', () => undefined);
    try {
      deadLetters = await redis.zcard(`${stack.prefix}:dead-letters`);
    } finally {
      redis.disconnect();
    }
  }
  const dup = receiver.duplicates();
  const check: AlertCheck = {
    expected: expected.length,
    recorded: rec.keys.size,
    missingRecorded: missingRecorded.length,
    unexpectedRecorded: unexpected.length,
    apiEpisodes,
    redisEpisodes: rec.episodes,
    delivered: expected.length - missing.length,
    undelivered: missing.length,
    dupKeys: dup.keys,
    dupExtra: dup.extra,
    rawRepeats: receiver.repeats(),
    badSignatures: receiver.badSignatures,
    deadLetters,
    streamSeen: expected.filter((e) => stream.seen.has(e.key)).length,
    streamDupWithin: stream.dupWithinConnection.length,
    streamRepeatsAcross: stream.repeatsAcrossConnections(),
    samples,
  };
  if (missingRecorded.length > 0) failures.push(`${missingRecorded.length} expected alert event(s) not recorded, e.g. ${missingRecorded.slice(0, 3).map((e) => e.key).join(', ')}`);
  if (unexpected.length > 0) failures.push(`${unexpected.length} recorded alert event(s) the engine's replay of the acked fixes does not raise (doubled or wrong episodes), e.g. ${unexpected.slice(0, 3).join(', ')}`);
  if (missing.length > 0) failures.push(`${missing.length} alert event(s) never delivered with a 2xx (dead letters: ${deadLetters}), e.g. ${missing.slice(0, 3).join(', ')}`);
  if (receiver.badSignatures > 0) failures.push(`${receiver.badSignatures} webhook request(s) failed signature verification: ${receiver.badSignatureSamples.join('; ')}`);
  if (stream.dupWithinConnection.length > 0) failures.push(`the live stream showed ${stream.dupWithinConnection.length} key(s) twice on one connection, e.g. ${stream.dupWithinConnection.slice(0, 3).join(', ')}`);
  if (Number.isFinite(apiEpisodes) && rec.episodes <= 1000 && apiEpisodes !== rec.episodes) failures.push(`GET /v1/alerts?state=all lists ${apiEpisodes} episodes, Redis holds ${rec.episodes}`);
  return { check, failures };
}
