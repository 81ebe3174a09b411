import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * The service under test, started as a child process exactly as `npm start` runs it
 * (node dist/src/server/main.js), on a free port, with a unique KEY_PREFIX and fresh tokens; and
 * the /proc readings (RSS, CPU time) of any process by pid.
 */

export interface StartedService {
  url: string;
  pid: number;
  keyPrefix: string;
  operatorTokens: string[];
  ingestToken: string;
  env: Record<string, string>;
  /** Lines the service wrote to stderr (kept for the report if it dies). */
  stderrTail: string[];
  stop(): Promise<number | null>;
  readonly exited: boolean;
}

export interface StartOptions {
  root: string;
  redisUrl: string;
  profileDir: string | null;
  /** Extra environment (ENGINE_SETTINGS, RATE_LIMIT_PER_S, ...). */
  env: Record<string, string>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startService(o: StartOptions): Promise<StartedService> {
  const port = await freePort();
  const keyPrefix = `bench-ingest-${randomBytes(4).toString('hex')}`;
  const tok = (): string => randomBytes(24).toString('base64url');
  // Several operator tokens: seeding spreads its requests over them.
  const operatorTokens = [tok(), tok(), tok(), tok()];
  const ingestToken = tok();
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    KEY_PREFIX: keyPrefix,
    REDIS_URL: o.redisUrl,
    API_TOKENS: [...operatorTokens.map((t) => `${t}=operator`), `${ingestToken}=ingest`].join(','),
    LOG_LEVEL: 'warn',
    ...o.env,
  };
  const args = [
    ...(o.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`]),
    join(o.root, 'dist/src/server/main.js'),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: o.root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrTail: string[] = [];
  let exited = false;
  let exitCode: number | null = null;
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      exitCode = code;
      resolve(code);
    });
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    for (const line of d.split('\n')) if (line.trim() !== '') stderrTail.push(line);
    if (stderrTail.length > 50) stderrTail.splice(0, stderrTail.length - 50);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the service did not start within 30 s:\n${stderrTail.join('\n')}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited (code ${code}) before listening:\n${stderrTail.join('\n')}`));
    });
  });
  return {
    url, pid: child.pid as number, keyPrefix, operatorTokens, ingestToken, env, stderrTail,
    get exited() {
      return exited;
    },
    async stop(): Promise<number | null> {
      if (exited) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
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
