/**
 * Reads V8 .cpuprofile files (node --cpu-prof) of worker processes and summarises where the time
 * goes: self time by function and by area (BullMQ, ioredis, undici/fetch, node internals, our
 * worker code, idle/GC), so the benchmark can say why a target is missed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  files: number;
  totalMs: number;
  /** Share of samples that were not idle. */
  busyShare: number;
  byArea: { area: string; ms: number; share: number }[];
  topFunctions: { fn: string; ms: number; share: number }[];
}

function area(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (program)';
  if (url.includes('/node_modules/bullmq/')) return 'bullmq';
  if (url.includes('/node_modules/ioredis/') || url.includes('/node_modules/@ioredis/') || url.includes('/node_modules/redis-parser/')) return 'ioredis';
  if (url.includes('/node_modules/zod/')) return 'zod';
  if (url.includes('/node_modules/msgpackr/') || url.includes('/node_modules/cron-parser/')) return 'bullmq deps';
  if (url.includes('/node_modules/')) return `other npm: ${url.split('/node_modules/')[1]?.split('/')[0] ?? '?'}`;
  if (url.startsWith('node:internal/deps/undici') || url.includes('undici')) return 'undici (fetch)';
  if (url.includes('/dist/workers/')) return 'workers/alert-workers';
  if (url.includes('/dist/src/')) return 'src';
  if (url.startsWith('node:')) return 'node internals';
  if (url === '') return fn === '' ? 'native' : `native: ${fn}`;
  return 'other';
}

export function summariseProfiles(dir: string, top = 20): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const byId = new Map<number, ProfileNode>();
    for (const n of prof.nodes) byId.set(n.id, n);
    for (let i = 0; i < prof.samples.length; i++) {
      const us = prof.timeDeltas[i] ?? 0;
      const n = byId.get(prof.samples[i]!);
      if (n === undefined) continue;
      const { functionName, url, lineNumber } = n.callFrame;
      total += us;
      if (functionName === '(idle)') idle += us;
      const a = area(url, functionName);
      byArea.set(a, (byArea.get(a) ?? 0) + us);
      const file = url.replace(/^.*\/(dist|node_modules)\//, '$1/');
      const key = `${functionName || '(anonymous)'} ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
      byFn.set(key, (byFn.get(key) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rows = (m: Map<string, number>, denom: number) => [...m.entries()].sort((x, y) => y[1] - x[1]).map(([k, us]) => ({ k, ms: Math.round(us / 1000), share: Math.round((1000 * us) / Math.max(1, denom)) / 10 }));
  return {
    files: files.length,
    totalMs: Math.round(total / 1000),
    busyShare: Math.round((1000 * busy) / Math.max(1, total)) / 10,
    byArea: rows(byArea, total).map((r) => ({ area: r.k, ms: r.ms, share: r.share })),
    topFunctions: rows(new Map([...byFn].filter(([k]) => !k.startsWith('(idle)'))), busy).slice(0, top).map((r) => ({ fn: r.k, ms: r.ms, share: r.share })),
  };
}
