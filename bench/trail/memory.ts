/**
 * Measures what the trail costs in Redis: `npm run bench:trail`. Writes a day of fixes (one a
 * minute) for a sample of tags with the service's own encoding, reads MEMORY USAGE, and scales
 * to 1,000 tags. Also measures the ingest log per fix (it is trimmed at every snapshot).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Fix } from '../../src/engine/fix.js';
import { encodeFix } from '../../src/engine/fix-codec.js';
import { benchEnv } from '../common/env.js';

const TAGS = Number(process.env.BENCH_TRAIL_TAGS ?? 50);
const PER_DAY = 1440;
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `bench-trail-${process.pid}`;
let rnd = 12345;
const random = (): number => ((rnd = (rnd * 1103515245 + 12345) >>> 0) / 2 ** 32);

let bytes = 0;
const day0 = Date.UTC(2026, 10, 23);
for (let t = 0; t < TAGS; t++) {
  const key = `${prefix}:trail:TAG-${t}`;
  let lat = 53.8 + random() * 0.1, lon = -1.55 + random() * 0.1;
  for (let chunk = 0; chunk < PER_DAY; chunk += 240) {
    const m = redis.pipeline();
    for (let i = chunk; i < Math.min(PER_DAY, chunk + 240); i++) {
      lat += (random() - 0.5) * 0.002;
      lon += (random() - 0.5) * 0.003;
      // As tags report them: 5-6 decimal places of position, accuracy to 0.1 m, battery to 1 %.
      const fix = new Fix(`TAG-${t}`, i + 1, day0 + i * 60_000, +lat.toFixed(6), +lon.toFixed(6), Math.round(50 + random() * 200) / 10, Math.round(100 - (i * 100) / PER_DAY) / 100, 0);
      m.xadd(key, 'MAXLEN', '~', 20000, `${day0 + i * 60_000 + 2000}-0`, ...encodeFix(fix));
    }
    await m.exec();
  }
  bytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
}
const perTagDay = bytes / TAGS;
const result = {
  summary: { bytesPerFix: perTagDay / PER_DAY, mbPer1000TagsPerDay: (perTagDay * 1000) / 1e6 },
  tagsSampled: TAGS, fixesPerTagPerDay: PER_DAY, redis: (await redis.info('server')).match(/redis_version:(\S+)/)?.[1], ...benchEnv(),
};
const keys = await redis.keys(`${prefix}:*`);
if (keys.length > 0) await redis.del(...keys);
await redis.quit();
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/trail.json', `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`trail: ${result.summary.bytesPerFix.toFixed(1)} bytes per fix; ${result.summary.mbPer1000TagsPerDay.toFixed(1)} MB per 1,000 tags per day (1 fix/min), Redis ${result.redis}\n`);
