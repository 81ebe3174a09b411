#!/usr/bin/env node
/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by area (engine, geo,
 * server, ws, ioredis, fastify, JSON, GC, idle). Used by the ingest benchmark's --profile, and
 * on its own:  node dist/bench/ingest/cpu-profile.js <file.cpuprofile> [top] [fromUs toUs]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not idle. */
  busyMs: number;
  top: ProfileRow[];
  areas: { area: string; selfMs: number; pct: number }[];
}

function shortUrl(url: string): string {
  const i = url.indexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

function area(f: CallFrame): string {
  const u = f.url;
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)') return 'V8/native (program)';
  if (u.includes('/node_modules/')) return u.slice(u.indexOf('/node_modules/') + 14).split('/')[0] ?? 'node_modules';
  if (u.includes('/dist/src/engine/')) return 'engine';
  if (u.includes('/dist/geo/')) return 'geo';
  if (u.includes('/dist/src/server/')) return 'server';
  if (u.startsWith('node:')) return `node:${u.slice(5).split('/')[0] ?? ''}`;
  if (u === '') return `native (${f.functionName || 'anonymous'})`;
  return 'other';
}

/**
 * `windowUs` limits the summary to samples taken in [from, to), in microseconds of the monotonic
 * clock (V8's profile timestamps and process.hrtime share CLOCK_MONOTONIC on Linux), so one phase
 * of a run can be looked at on its own.
 */
export function summariseProfile(file: string, top = 25, windowUs: [number, number] | null = null): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, CallFrame>();
  for (const n of p.nodes) byId.set(n.id, n.callFrame);
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  // A sample's timestamp is the start plus the deltas so far; its weight, the gap to the next one.
  let at = p.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    if (windowUs !== null && (at < windowUs[0] || at >= windowUs[1])) continue;
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i] as number, (selfUs.get(samples[i] as number) ?? 0) + dt);
  }
  const rows = new Map<string, ProfileRow>();
  const areas = new Map<string, number>();
  let totalUs = 0, idleUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id) as CallFrame;
    totalUs += us;
    const a = area(f);
    if (a === 'idle') idleUs += us;
    areas.set(a, (areas.get(a) ?? 0) + us);
    const name = f.functionName || '(anonymous)';
    const where = f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`;
    const key = `${name} ${where}`;
    const row = rows.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    row.selfMs += us / 1000;
    rows.set(key, row);
  }
  const busyUs = totalUs - idleUs;
  const list = [...rows.values()].filter((r) => r.name !== '(idle)').sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const r of list) r.pct = busyUs > 0 ? (r.selfMs * 1000 * 100) / busyUs : 0;
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    top: list.map((r) => ({ ...r, selfMs: Math.round(r.selfMs), pct: Math.round(r.pct * 10) / 10 })),
    areas: [...areas.entries()].filter(([a]) => a !== 'idle').sort((a, b) => b[1] - a[1])
      .map(([a, us]) => ({ area: a, selfMs: Math.round(us / 1000), pct: busyUs > 0 ? Math.round((us * 1000) / busyUs) / 10 : 0 })),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [`CPU profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (${((s.busyMs / s.totalMs) * 100).toFixed(0)} %)`];
  lines.push('  self time by area (% of busy):');
  for (const a of s.areas.slice(0, 14)) lines.push(`    ${a.area.padEnd(28)} ${String(a.selfMs).padStart(7)} ms  ${a.pct.toFixed(1).padStart(5)} %`);
  lines.push('  top functions by self time:');
  for (const r of s.top) lines.push(`    ${r.pct.toFixed(1).padStart(5)} %  ${String(r.selfMs).padStart(7)} ms  ${r.name}  ${r.where}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/ingest/cpu-profile.js <file.cpuprofile> [top] [fromUs toUs]\n');
    process.exit(2);
  }
  const from = process.argv[4], to = process.argv[5];
  const window: [number, number] | null = from !== undefined && to !== undefined ? [Number(from), Number(to)] : null;
  process.stdout.write(formatProfile(summariseProfile(file, Number(process.argv[3] ?? 25), window)) + '\n');
}
