import os from 'node:os';

export interface BenchEnv {
  node: string;
  v8: string;
  cpu: string;
  logicalCpus: number;
  platform: string;
  arch: string;
  totalMemGiB: number;
  gcExposed: boolean;
}

export function benchEnv(): BenchEnv {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    logicalCpus: cpus.length,
    platform: os.platform(),
    arch: os.arch(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    gcExposed: typeof globalThis.gc === 'function',
  };
}

export function printBenchEnv(env: BenchEnv = benchEnv()): void {
  console.log(
    `node ${env.node} (V8 ${env.v8}), ${env.platform}/${env.arch}, CPU: ${env.cpu} ` +
      `(${env.logicalCpus} logical, benchmark uses one), RAM ${env.totalMemGiB} GiB, ` +
      `gc ${env.gcExposed ? 'exposed' : 'NOT exposed (run with --expose-gc for heap figures)'}`,
  );
}

/** A positive integer from the environment (underscores allowed: 1_000_000), or `dflt` when unset. */
export function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
