import type { Redis } from 'ioredis';
import { stageAlertMigration } from '../alerts/alert-index.js';
import { stageDeviceIndex, stageSubjectIndex, stageZoneIndex, zoneLabelsOf, type StoredSubject } from './collection-indexes.js';
import type { Keys } from './keys.js';

/** Bumped when the list indexes change shape; a store below it is re-indexed at start. */
export const LIST_INDEX_VERSION = '1';

/**
 * Builds the list indexes (list-index.ts) from the stored records, once: for a store written
 * before they existed. Every step is idempotent (each record's index entries are replaced), so
 * an interrupted run, or two instances starting at once, end in the same indexes. Returns how
 * many records were indexed (0 when the store was already at this version).
 */
export async function migrateListIndexes(redis: Redis, keys: Keys, log: { info(o: object, m: string): void }): Promise<number> {
  if ((await redis.get(keys.listIndexVersion)) === LIST_INDEX_VERSION) return 0;
  let n = 0;
  const flush = async (m: ReturnType<Redis['pipeline']>): Promise<void> => {
    for (const [err] of (await m.exec()) ?? []) if (err) throw err;
  };
  const hash = async (key: string, each: (m: ReturnType<Redis['pipeline']>, id: string, json: string) => void): Promise<void> => {
    let cursor = '0';
    do {
      const [next, flat] = await redis.hscan(key, cursor, 'COUNT', 1000);
      cursor = next;
      const m = redis.pipeline();
      for (let i = 0; i < flat.length; i += 2) {
        each(m, flat[i], flat[i + 1]);
        n++;
      }
      await flush(m);
    } while (cursor !== '0');
  };
  await hash(keys.subjects, (m, id, json) => stageSubjectIndex(m, keys, id, { ...(JSON.parse(json) as StoredSubject), id }));
  await hash(keys.zones, (m, id, json) => stageZoneIndex(m, keys, id, zoneLabelsOf(JSON.parse(json))));
  await hash(keys.devices, (m, id, json) => stageDeviceIndex(m, keys, id, JSON.parse(json) as { kind: string; status: string }));
  // Alert records: every episode ever opened is in the by-time index the service always kept.
  for (let at = 0; ; at += 1000) {
    const ids = await redis.zrange(keys.alertsAll, at, at + 999);
    if (ids.length === 0) break;
    const read = redis.pipeline();
    for (const id of ids) read.hgetall(keys.alert(id));
    const rows = (await read.exec()) ?? [];
    const m = redis.pipeline();
    ids.forEach((id, i) => {
      if (stageAlertMigration(m, keys, id, rows[i][1] as Record<string, string>)) n++;
    });
    await flush(m);
  }
  await redis.set(keys.listIndexVersion, LIST_INDEX_VERSION);
  log.info({ records: n }, 'list indexes built from the stored records');
  return n;
}
