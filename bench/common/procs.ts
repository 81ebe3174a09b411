/**
 * Child processes of the benchmarks and the chaos harness. Every child started here is tracked,
 * so that all of them can be killed when the harness stops: at the end, on failure, on Ctrl-C or
 * SIGTERM, and on an uncaught error. Children are killed by their own pid only (never by name).
 * Also: the built service as a child (`node dist/src/server/main.js`), and /proc readings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './results.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const stderrLine = (msg: string): void => void process.stderr.write(`${msg}\n`);

export const SERVICE_JS = join(repoRoot(), 'dist/src/server/main.js');
export const WORKER_JS = join(repoRoot(), 'dist/workers/main.js');

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: boolean;
  /** The last lines of stdout and stderr (for reports when something dies). */
  tail(n?: number): string;
  /** Sends `signal`; if still alive after graceMs, SIGKILL. Resolves on exit. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

const live = new Set<Child>();

export function start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void, cwd?: string): Child {
  const proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let exited = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = true;
      live.delete(child);
      resolve({ code, signal });
    });
    proc.once('error', (e) => {
      lines.push(`spawn error: ${e.message}`);
      exited = true;
      live.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  const take = (d: Buffer): void => {
    for (const line of d.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      onLine?.(line);
    }
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    proc,
    exit,
    get exited() {
      return exited;
    },
    tail: (n = 20) => lines.slice(-n).join('\n'),
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
      if (exited) return;
      proc.kill(signal);
      const t = setTimeout(() => {
        if (!exited) proc.kill('SIGKILL');
      }, graceMs);
      await exit;
      clearTimeout(t);
    },
    async kill() {
      if (exited) return;
      proc.kill('SIGKILL');
      await exit;
    },
  };
  live.add(child);
  return child;
}

/** Kills every child still running (SIGTERM, then SIGKILL after graceMs). */
export async function stopAll(graceMs = 5000, log: (msg: string) => void = stderrLine): Promise<void> {
  const all = [...live];
  if (all.length > 0) log(`stopping ${all.length} child process(es): ${all.map((c) => `${c.name}[${c.pid}]`).join(', ')}`);
  await Promise.all(all.map((c) => c.stop('SIGTERM', graceMs)));
}

/** Synchronous last resort (process 'exit' handler): SIGKILL whatever is left. */
export function killAllNow(): void {
  for (const c of live) {
    try {
      c.proc.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Installs handlers so that Ctrl-C, SIGTERM and crashes still stop every child. */
export function installCleanup(onAbort: () => Promise<void>, log: (msg: string) => void = stderrLine): void {
  let aborting = false;
  const abort = (why: string, code: number): void => {
    if (aborting) {
      killAllNow();
      process.exit(code);
    }
    aborting = true;
    log(`${why}: stopping children`);
    void Promise.race([onAbort().catch(() => undefined).then(() => stopAll(3000, log)), sleep(10_000)]).finally(() => {
      killAllNow();
      process.exit(code);
    });
  };
  process.on('SIGINT', () => abort('SIGINT', 130));
  process.on('SIGTERM', () => abort('SIGTERM', 143));
  process.on('uncaughtException', (e) => {
    process.stderr.write(`uncaught exception: ${e.stack ?? e.message}\n`);
    abort('uncaught exception', 1);
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
    abort('unhandled rejection', 1);
  });
  process.on('exit', () => killAllNow());
}

/**
 * The built service as a tracked child (`node [nodeArgs] dist/src/server/main.js` with `env`):
 * resolves with its URL once it prints "listening on <url>"; if it exits first or says nothing
 * within timeoutMs, kills it and throws with the last lines of its output. `onSpawn` sees the
 * child as soon as it exists (before it listens); `onLine` every line it writes.
 */
export async function startServiceProcess(
  name: string,
  env: NodeJS.ProcessEnv,
  o: { nodeArgs?: readonly string[]; cwd?: string; timeoutMs?: number; onSpawn?: (child: Child) => void; onLine?: (line: string) => void } = {},
): Promise<{ child: Child; url: string }> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  let listening: (url: string) => void = () => undefined;
  const up = new Promise<string>((r) => (listening = r));
  const child = start(name, process.execPath, [...(o.nodeArgs ?? []), SERVICE_JS], env, (line) => {
    const m = /listening on (http:\/\/\S+)/.exec(line);
    if (m !== null) listening(m[1]!);
    o.onLine?.(line);
  }, o.cwd);
  o.onSpawn?.(child);
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([up, child.exit.then(() => null), new Promise<undefined>((done) => (timer = setTimeout(() => done(undefined), timeoutMs)))]);
  clearTimeout(timer);
  if (typeof r !== 'string') {
    await child.kill();
    throw new Error(`the service did not start (${r === null ? 'exited' : `no "listening" within ${timeoutMs / 1000} s`}):\n${child.tail()}`);
  }
  return { child, url: r };
}

/** Resident set size of a process in bytes (Linux /proc), or NaN. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds a process has used (Linux /proc; clock ticks of 10 ms), or NaN. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Machine-wide CPU time (Linux /proc/stat), seconds: busy and total over all cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return { busy: NaN, total: NaN };
  }
}
