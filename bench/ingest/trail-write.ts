#!/usr/bin/env node
/**
 * Side experiment behind one of the ingest benchmark's suggestions: what it costs the Node
 * process to write a group commit's trail entries to Redis, three ways, same data, same Redis.
 *
 *   node dist/bench/ingest/trail-write.js [fixes=200000] [group=5000]
 *
 * - fields:  what the service does today (src/server/committer.ts): MULTI, one XADD per fix with
 *            seven field/value pairs (14 arguments), EXEC;
 * - packed:  MULTI, one XADD per fix with a single field holding the fix as compact text;
 * - lua:     one EVALSHA per group: the group's fixes as one JSON argument, and a Lua script that
 *            XADDs each (same seven fields as today), so ioredis builds one command, not 5,000.
 * Reports Node CPU µs per fix (the service's bottleneck), wall time and Redis CPU per fix, and
 * checks the entry counts. Keys live under a unique prefix and are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { benchEnv } from '../common/env.js';
import { mulberry32 } from '../common/prng.js';
import { fmt, formatTable } from '../common/table.js';
import { deletePrefix, redisInfo } from './verify.js';

const LUA = `
-- KEYS: the trail stream of each fix, in order. ARGV[1]: JSON array of [seq, ts, y, x, a, b, p].
local fixes = cjson.decode(ARGV[1])
for i, f in ipairs(fixes) do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', 20000, '*', 's', f[1], 't', f[2], 'y', f[3], 'x', f[4], 'a', f[5], 'b', f[6], 'p', f[7])
end
return #fixes`;

interface F { d: string; s: number; t: number; y: number; x: number; a: number; b: number; p: number }

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 200_000);
  const group = Number(process.argv[3] ?? 5000);
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-trailwrite-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  const rng = mulberry32(42);
  const fixes: F[] = [];
  const seq = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const d = `T${Math.floor(rng() * 20_000)}`;
    const s = (seq.get(d) ?? 0) + 1;
    seq.set(d, s);
    fixes.push({ d, s, t: 1_795_400_000_000 + i * 1000, y: Math.round((53.8 + rng() * 0.1) * 1e7), x: Math.round((-1.55 + rng() * 0.1) * 1e7), a: 3 + Math.floor(rng() * 12), b: Math.round(rng() * 100) / 100, p: 0 });
  }
  const sha = (await redis.script('LOAD', LUA)) as string;
  const env = benchEnv();
  const variants: [string, (k: string, batch: F[]) => Promise<void>][] = [
    ['fields (today)', async (k, batch) => {
      const m = redis.multi();
      for (const f of batch) m.xadd(`${k}:${f.d}`, 'MAXLEN', '~', 20000, '*', 's', f.s, 't', f.t, 'y', f.y, 'x', f.x, 'a', f.a, 'b', f.b, 'p', f.p);
      await m.exec();
    }],
    ['packed (1 field)', async (k, batch) => {
      const m = redis.multi();
      for (const f of batch) m.xadd(`${k}:${f.d}`, 'MAXLEN', '~', 20000, '*', 'f', `${f.s},${f.t},${f.y},${f.x},${f.a},${f.b},${f.p}`);
      await m.exec();
    }],
    ['lua (1 EVALSHA/group)', async (k, batch) => {
      const keys = batch.map((f) => `${k}:${f.d}`);
      const args = JSON.stringify(batch.map((f) => [f.s, f.t, f.y, f.x, f.a, f.b, f.p]));
      await redis.evalsha(sha, keys.length, ...keys, args);
    }],
  ];
  const rows: string[][] = [];
  for (const [name, write] of variants) {
    const k = `${prefix}:${name.split(' ')[0] as string}`;
    // Warm-up group, then the measured run.
    await write(`${k}:warm`, fixes.slice(0, group));
    const r0 = await redisInfo(url);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < total; i += group) await write(k, fixes.slice(i, i + group));
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const r1 = await redisInfo(url);
    let n = 0;
    const pipe = redis.pipeline();
    for (const d of seq.keys()) pipe.xlen(`${k}:${d}`);
    for (const [, v] of (await pipe.exec()) ?? []) n += Number(v);
    rows.push([
      name, fmt(((c.user + c.system) / total), 2), fmt(total / (wall / 1000)), fmt(((r1.cpuSeconds - r0.cpuSeconds) * 1e6) / total, 2), n === total ? 'yes' : `NO (${n})`,
    ]);
  }
  console.log(`trail writes: ${fmt(total)} fixes in groups of ${fmt(group)}; node ${env.node}, ${env.cpu} (${env.logicalCpus} logical); Redis ${url}`);
  console.log(formatTable(['variant', 'node µs/fix', 'fixes/s (wall)', 'redis µs/fix', 'all written'], rows));
  await deletePrefix(url, prefix);
  redis.disconnect();
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
