/**
 * Steady load for CHAOS_SOAK_S seconds (60 by default; 3600 for the issue's hour) with the
 * service's heap (/metrics iom_nodejs_heap_size_used_bytes) and RSS (/proc/<pid>/status) sampled
 * every half second. The heap just after each major GC (seen as a rise of
 * iom_nodejs_gc_duration_seconds_count{kind="major"}) is what survived the collection: after a
 * warm-up (a fifth of the run, at most a minute) those samples get a least-squares line, and a
 * clear upward trend fails. The lower envelope of all samples and the RSS trend are reported too.
 */
import { runScenario, type Ctx, type Result } from './scenario.js';
import { linearFit, log, mb, MB, sleep } from './util.js';

export interface Trend {
  slopePerMin: number;
  r2: number;
  first: number;
  last: number;
  samples: number;
}

/** Line through the minimum of each of `buckets` windows of (t ms, value) samples. */
export function envelopeTrend(samples: [number, number][], buckets = 10): Trend {
  if (samples.length < buckets) return { slopePerMin: NaN, r2: NaN, first: NaN, last: NaN, samples: samples.length };
  const t0 = samples[0]![0], t1 = samples[samples.length - 1]![0];
  const w = (t1 - t0) / buckets;
  const xs: number[] = [], ys: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const inB = samples.filter(([t]) => t >= t0 + b * w && (b === buckets - 1 ? t <= t1 : t < t0 + (b + 1) * w));
    if (inB.length === 0) continue;
    let min = inB[0]!;
    for (const s of inB) if (s[1] < min[1]) min = s;
    xs.push((min[0] - t0) / 60_000);
    ys.push(min[1]);
  }
  const fit = linearFit(xs, ys);
  return { slopePerMin: fit.slope, r2: fit.r2, first: ys[0] ?? NaN, last: ys[ys.length - 1] ?? NaN, samples: samples.length };
}

export function soak(ctx: Ctx): Promise<Result> {
  const seconds = ctx.soakS;
  return runScenario(ctx, {
    name: 'soak',
    groups: [{ name: 'm', count: 50, misbehaves: true }, { name: 'q', count: 450, misbehaves: false }],
    teams: 4,
    stack: { workers: 1 },
    main: { groups: ['m', 'q'], connections: 4, perMessage: 25, maxOutstanding: 4, ratePerS: 1000 },
    drainMs: 30_000,
    deliveryMs: 60_000,
    async chaos(env) {
      const { stack, main, notes, failures } = env;
      /** [t, heap used]: every sample, and those taken just after a major GC (what survived it). */
      const heap: [number, number][] = [];
      const afterGc: [number, number][] = [];
      const start = Date.now();
      const end = start + seconds * 1000;
      let next = start;
      let gcs = NaN, firstGcs = NaN;
      while (Date.now() < end) {
        const s = await stack.heapSample();
        const t = Date.now();
        if (Number.isFinite(s.heapUsed)) {
          heap.push([t, s.heapUsed]);
          if (Number.isFinite(gcs) && s.majorGcs > gcs) afterGc.push([t, s.heapUsed]);
          if (!Number.isFinite(firstGcs)) firstGcs = s.majorGcs;
          gcs = s.majorGcs;
        }
        next += 500;
        await sleep(Math.max(0, next - Date.now()));
        if (heap.length % 120 === 0 && heap.length > 0) log(`soak: ${((Date.now() - start) / 1000).toFixed(0)} s, ${main.stats.acked} acked, heap ${mb(s.heapUsed)} MB, ${gcs} major GCs`);
      }
      const warm = start + Math.min(60_000, (end - start) / 5);
      const env_ = envelopeTrend(heap.filter(([t]) => t >= warm));
      const rssT = envelopeTrend(stack.rssBetween(warm, end));
      const post = afterGc.filter(([t]) => t >= warm);
      const fit = linearFit(post.map(([t]) => (t - start) / 60_000), post.map(([, v]) => v));
      const rate = main.ackRate(start, end);
      const majors = gcs - firstGcs;
      notes.push(`steady ${rate.toFixed(0)} fixes/s for ${seconds} s; ${majors} major GCs; heap after major GCs (from ${((warm - start) / 1000).toFixed(0)} s): ${post.length} samples, ${post.length > 0 ? `${mb(post[0]![1], 1)} → ${mb(post[post.length - 1]![1], 1)} MB` : 'n/a'}, slope ${post.length >= 2 ? `${mb(fit.slope, 2)} MB/min (r² ${fit.r2.toFixed(2)})` : 'n/a'}`);
      notes.push(`heap lower envelope ${mb(env_.first, 1)} → ${mb(env_.last, 1)} MB (slope ${mb(env_.slopePerMin, 2)} MB/min, r² ${env_.r2.toFixed(2)}); RSS ${mb(rssT.first)} → ${mb(rssT.last)} MB (slope ${mb(rssT.slopePerMin, 2)} MB/min, r² ${rssT.r2.toFixed(2)})`);
      // A clear upward trend: what survives major collections rises steadily (good fit) by a
      // meaningful amount. Without enough major GCs the run is too short to tell: then only a
      // runaway heap fails.
      const spanMin = post.length >= 2 ? (post[post.length - 1]![0] - post[0]![0]) / 60_000 : 0;
      if (post.length >= 4 && spanMin >= (end - warm) / 60_000 / 2) {
        const rise = fit.slope * spanMin;
        if (fit.slope > 1 * MB && fit.r2 > 0.7 && rise > 8 * MB) {
          failures.push(`heap after major GCs grows steadily under constant load: ${mb(fit.slope, 2)} MB/min (r² ${fit.r2.toFixed(2)}, +${mb(rise, 1)} MB over ${spanMin.toFixed(1)} min)`);
        }
      } else {
        notes.push(`too few major GCs after the warm-up (${post.length}) to judge a trend: run longer (CHAOS_SOAK_S) for a verdict; only a runaway heap (> +256 MB) fails`);
        if (env_.last - env_.first > 256 * MB) failures.push(`heap rose by ${mb(env_.last - env_.first)} MB in ${seconds} s of constant load`);
      }
      if (rate < 500) failures.push(`steady load only reached ${rate.toFixed(0)} fixes/s (target 1000)`);
    },
  });
}
