import { randomBytes } from 'node:crypto';
import { freePort } from '../common/net.js';
import { startServiceProcess } from '../common/procs.js';

/**
 * The service under test, started as a child process exactly as `npm start` runs it
 * (node dist/src/server/main.js, via bench/common/procs.ts), on a free port, with a unique
 * KEY_PREFIX and fresh tokens.
 */

export interface StartedService {
  url: string;
  pid: number;
  keyPrefix: string;
  operatorTokens: string[];
  ingestToken: string;
  env: Record<string, string>;
  /** The last lines the service wrote (for the report if it dies). */
  tail(): string;
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
  const { child, url } = await startServiceProcess('service:bench-ingest', { ...process.env, ...env }, {
    cwd: o.root,
    nodeArgs: o.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`],
  });
  return {
    url, pid: child.pid, keyPrefix, operatorTokens, ingestToken, env,
    tail: () => child.tail(50),
    get exited() {
      return child.exited;
    },
    async stop(): Promise<number | null> {
      await child.stop('SIGTERM', 30_000);
      return (await child.exit).code;
    },
  };
}
