#!/usr/bin/env node
/**
 * The archive worker: `node dist/workers/archive.js` (npm start runs one when DATABASE_URL is
 * set, and restarts it if it dies). It migrates the archive, then copies the ingest log and the
 * archive feed from Redis into PostgreSQL exactly once (src/archive/copier.ts), creates the daily
 * partitions ahead, and enforces retention on a schedule (each purge in the audit log).
 * SIGTERM finishes the batch in hand; SIGKILL at any moment loses nothing (the checkpoint is
 * written in the same transaction as the rows).
 */
import { Redis } from 'ioredis';
import { openArchiveDb, ensurePartitions, PARTITIONED, type PartitionedTable } from '../src/archive/db.js';
import { ArchiveCopier } from '../src/archive/copier.js';
import { purgeAndAudit } from '../src/archive/retention.js';
import { compactClosedDays, quietHour } from '../src/evidence/crime/compact-day.js';
import { AuditLog } from '../src/server/audit.js';
import { Keys } from '../src/server/keys.js';
import { archiveSettingsFromEnv } from '../src/server/settings.js';
import { onShutdownSignal } from '../src/server/shutdown.js';

const DAY_MS = 86_400_000;

const log = (level: 'info' | 'warn' | 'error', obj: object, msg: string): void => {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, name: 'archive', msg, ...obj })}\n`);
};

async function main(): Promise<void> {
  const settings = archiveSettingsFromEnv();
  if (settings === null) {
    log('info', {}, 'archive off (DATABASE_URL unset): nothing to do');
    return;
  }
  const keys = new Keys(settings.keyPrefix);
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined);
  const pool = await openArchiveDb({ url: settings.databaseUrl, schema: settings.schema, max: settings.copyLanes + 3 });
  const audit = new AuditLog(redis, keys, settings.auditRetentionS);
  const copier = new ArchiveCopier(redis, keys, pool, { log, lanes: settings.copyLanes, behindWarnEntries: Math.floor(settings.logMaxEntries / 2) });

  /** Today and the next days' partitions exist before their first row (ensurePartitions). */
  const ahead = async (): Promise<void> => {
    const now = Date.now();
    for (const t of Object.keys(PARTITIONED) as PartitionedTable[]) await ensurePartitions(pool, t, now - DAY_MS, now + 3 * DAY_MS);
  };
  const retention = async (): Promise<void> => {
    const purges = await purgeAndAudit(pool, { fixesDays: settings.retainFixesDays, alertsDays: settings.retainAlertsDays }, audit, settings.schema);
    for (const p of purges) log('info', { ...p }, 'archive retention: purged');
  };
  /** Closed days clustered by subject and time, at night (crime matching reads a clustered day several times faster: README). */
  const compaction = async (): Promise<void> => {
    if (!quietHour(Date.now())) return;
    for (const day of await compactClosedDays(pool, Date.now())) log('info', { day }, 'archive: closed day clustered by subject and time');
  };
  const housekeeping = (): void => {
    void (async () => {
      await ahead();
      await retention();
      await compaction();
    })().catch((e: Error) => log('warn', { err: e.message }, 'archive housekeeping failed; will retry'));
  };

  let running: Promise<void> = Promise.resolve();
  onShutdownSignal('archive worker', async () => {
    copier.stop();
    await running;
    await copier.close();
    await pool.end().catch(() => undefined);
    await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
  });

  await ahead();
  await copier.start();
  log('info', { schema: settings.schema, checkpoint: copier.logPosition }, 'archive worker copying');
  housekeeping();
  const timer = setInterval(housekeeping, settings.retentionIntervalS * 1000);
  timer.unref();
  running = copier.run();
  await running;
}

main().catch((e: Error) => {
  process.stderr.write(`archive worker failed: ${e.message.replace(/\/\/[^@]*@/, '//***@')}\n`);
  process.exit(1);
});
