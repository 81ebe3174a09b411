/**
 * Small helpers for the chaos harness: time, /proc limits, a line fit, logging.
 * Nothing here talks to anything but 127.0.0.1.
 */
import { readFileSync } from 'node:fs';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Milliseconds since the harness started (for log lines). */
const T0 = Date.now();
export function log(msg: string): void {
  const s = ((Date.now() - T0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[chaos ${s}s] ${msg}\n`);
}

/** Polls `fn` every `everyMs` until it returns something truthy or `timeoutMs` passes (then null). */
export async function until<T>(fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch {
      // keep polling
    }
    if (Date.now() >= end) return null;
    await sleep(everyMs);
  }
}

/** Rejects after `ms` with a message naming `what`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, fail) => {
    t = setTimeout(() => fail(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Open file descriptor limit (soft, hard) of this process, from /proc/self/limits. */
export function nofileLimits(): { soft: number; hard: number } {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
    const parts = line.replace('Max open files', '').trim().split(/\s+/);
    const n = (s: string | undefined): number => (s === 'unlimited' ? Infinity : Number(s));
    return { soft: n(parts[0]), hard: n(parts[1]) };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

/** Least-squares line through (x, y): slope, intercept and r². */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  if (n < 2) return { slope: NaN, intercept: NaN, r2: NaN };
  let sx = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n, my = sy / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx, dy = ys[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 0 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: my - slope * mx, r2 };
}


export const MB = 2 ** 20;
export const mb = (bytes: number, digits = 0): string => (Number.isFinite(bytes) ? (bytes / MB).toFixed(digits) : 'n/a');
