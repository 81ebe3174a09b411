// The one settings schema (src/server/settings.ts) against the README and the code: every
// variable the service or the workers read is in the schema, and README.md's "Configuration"
// paragraph lists each of them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveSettingsFromEnv, ENV_VARS, readEnv, settingsFromEnv, workerSettingsFromEnv } from '../../src/server/settings.js';
import { ROOT } from '../support/server.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Names read as process.env.X or process.env['X'] in a source text. */
function envReads(text: string): string[] {
  return [...text.matchAll(/process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([^'"]+)['"]\s*\])/g)].map((m) => m[1] ?? m[2]);
}

function configurationParagraph(readme: string): string {
  const start = readme.indexOf('**Configuration**');
  expect(start, 'README.md has a **Configuration** paragraph').toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n\n', start);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('settings schema', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const paragraph = configurationParagraph(readme);

  it('README.md\'s Configuration paragraph lists every variable the schema reads', () => {
    const missing = ENV_VARS.filter((name) => !paragraph.includes(`\`${name}\``));
    expect(missing, 'variables read by the code but not in README.md "Configuration"').toEqual([]);
  });

  it('README.md\'s Configuration paragraph names no variable the schema does not read', () => {
    const named = [...paragraph.matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]);
    expect(named.filter((n) => !ENV_VARS.includes(n))).toEqual([]);
  });

  it('no file under src/ or workers/ reads a variable outside the schema (the demo client: its own README)', () => {
    const demoReadme = readFileSync(join(ROOT, 'src/demo/README.md'), 'utf8');
    const stray: string[] = [];
    for (const file of [...files(join(ROOT, 'src')), ...files(join(ROOT, 'workers'))]) {
      const rel = file.slice(ROOT.length + 1);
      for (const name of envReads(readFileSync(file, 'utf8'))) {
        // The demo is a client program with its own options; NO_COLOR is the terminal convention.
        const known = rel.startsWith('src/demo/') ? demoReadme.includes(`\`${name}\``) || name === 'NO_COLOR' : ENV_VARS.includes(name);
        if (!known) stray.push(`${rel}: ${name}`);
      }
    }
    expect(stray).toEqual([]);
  });

  it('defaults apply when unset or empty; a bad value names the variable', () => {
    const s = settingsFromEnv({}, {});
    expect(s).toMatchObject({ port: 8080, keyPrefix: 'iom', redisUrl: 'redis://127.0.0.1:6379', wsHeartbeatMs: 30_000, ingestRateLimitPerS: 5000, ingestMaxBufferedBytes: 1 << 20 });
    expect(settingsFromEnv({}, { PORT: '' }).port).toBe(8080);
    expect(settingsFromEnv({ port: 1 }, { PORT: '9' }).port).toBe(1);
    expect(workerSettingsFromEnv({})).toEqual({ redisUrl: 'redis://127.0.0.1:6379', redisClusterNodes: '', keyPrefix: 'iom', concurrency: 128, perTeamInFlight: 8, attempts: 8, backoffMs: 1000, webhookAllowHosts: '' });
    expect(workerSettingsFromEnv({ WORKER_CONCURRENCY: '3', KEY_PREFIX: 'x' })).toMatchObject({ concurrency: 3, keyPrefix: 'x' });
    expect(readEnv({}).PRIVATE_REDIS_PORT).toBe(6390);
    expect(() => settingsFromEnv({}, { WS_HEARTBEAT_MS: '50' })).toThrow('WS_HEARTBEAT_MS must be an integer >= 100, got "50"');
    expect(() => workerSettingsFromEnv({ DELIVERY_ATTEMPTS: 'many' })).toThrow('DELIVERY_ATTEMPTS must be an integer >= 1, got "many"');
  });

  it('the archive worker follows the partitions and the cluster the service uses (PARTITIONS, REDIS_CLUSTER_NODES)', () => {
    const db = 'postgres://postgres@127.0.0.1:5432/test';
    expect(archiveSettingsFromEnv({ DATABASE_URL: db })).toMatchObject({ databaseUrl: db, partitions: 1, redisClusterNodes: '' });
    expect(archiveSettingsFromEnv({ PARTITIONS: '4' })).toBeNull();
    expect(archiveSettingsFromEnv({ DATABASE_URL: db, PARTITIONS: '4' })).toMatchObject({ partitions: 4 });
    expect(archiveSettingsFromEnv({ DATABASE_URL: db, REDIS_CLUSTER_NODES: '127.0.0.1:7000', KEY_PREFIX: '{iom}', PARTITIONS: '16' }))
      .toMatchObject({ redisClusterNodes: '127.0.0.1:7000', keyPrefix: '{iom}', partitions: 16 });
    expect(() => archiveSettingsFromEnv({ DATABASE_URL: db, PARTITIONS: '0' })).toThrow('PARTITIONS must be an integer >= 1, got "0"');
  });
});
