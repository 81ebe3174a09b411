/**
 * Every child process the harness starts goes through here, so that all of them are killed when
 * the harness stops: at the end, on failure, on Ctrl-C or SIGTERM, and on an uncaught error.
 * Children are killed by their own pid only (never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { log, sleep } from './util.js';

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

export function start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, onLine?: (line: string) => void): Child {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
export async function stopAll(graceMs = 5000): Promise<void> {
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
export function installCleanup(onAbort: () => Promise<void>): void {
  let aborting = false;
  const abort = (why: string, code: number): void => {
    if (aborting) {
      killAllNow();
      process.exit(code);
    }
    aborting = true;
    log(`${why}: stopping children`);
    void Promise.race([onAbort().catch(() => undefined).then(() => stopAll(3000)), sleep(10_000)]).finally(() => {
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
