// The outbox writes an alert record that a commit's second step never wrote (an instance killed
// between its fenced commit and the record). Found by the cluster chaos run's curfew wave: a
// subject out at the deadline whose owner died, then home late, had its `closed` recorded by the
// new owner before the outbox repaired the `opened`; the repair put the episode back in the
// open-alerts set, so the officer's open list showed someone home as still out.
import { afterAll, describe, expect, it } from 'vitest';
import { writeAlertProjection } from '../../src/alerts/alert-record.js';
import type { AlertEvent } from '../../src/engine/alert.js';
import { Keys } from '../../src/server/keys.js';
import { moveOutbox, syntheticEvent } from '../support/delivery.js';
import { cleanupPrefix, newRedis, uniquePrefix } from '../support/server.js';

describe('alert outbox: repairing a record that was never written', () => {
  const prefixes: string[] = [];
  const redis = newRedis();
  afterAll(async () => {
    for (const p of prefixes) await cleanupPrefix(p);
    redis.disconnect();
  });

  const move = (keys: Keys): Promise<void> => moveOutbox(redis, keys);

  function episode(): { opened: AlertEvent; closed: AlertEvent } {
    const opened = syntheticEvent(1, 'team-a', 'curfew', 'high');
    return { opened, closed: { ...opened, event: 'closed', at: new Date(Date.parse(opened.at) + 60_000).toISOString().replace('.000', '') } };
  }

  it('an `opened` repaired after its `closed` was recorded leaves the episode closed (not back in the open set)', async () => {
    const prefix = uniquePrefix('outbox-repair');
    prefixes.push(prefix);
    const keys = new Keys(prefix);
    const { opened, closed } = episode();
    // The opening group's records were cut off; the closing group was written whole.
    await redis.rpush(keys.outbox, JSON.stringify(opened), JSON.stringify(closed));
    const m = redis.multi();
    writeAlertProjection(m, keys, [closed]);
    await m.exec();
    await move(keys);
    expect(await redis.hexists(keys.alert(opened.episodeId), 'opened')).toBe(1);
    expect(await redis.sismember(keys.openAll, opened.episodeId)).toBe(0);
    expect(await redis.sismember(keys.openOfTeam('team-a'), opened.episodeId)).toBe(0);
    expect(await redis.zscore(keys.alertsAll, opened.episodeId)).not.toBeNull();
    expect(await redis.llen(keys.outbox)).toBe(0);
  });

  it('in the usual order the episode is open after `opened` and leaves the open set at `closed`', async () => {
    const prefix = uniquePrefix('outbox-repair');
    prefixes.push(prefix);
    const keys = new Keys(prefix);
    const { opened, closed } = episode();
    await redis.rpush(keys.outbox, JSON.stringify(opened));
    await move(keys);
    expect(await redis.sismember(keys.openAll, opened.episodeId)).toBe(1);
    await redis.rpush(keys.outbox, JSON.stringify(closed));
    await move(keys);
    expect(await redis.sismember(keys.openAll, opened.episodeId)).toBe(0);
    expect(await redis.sismember(keys.openOfTeam('team-a'), opened.episodeId)).toBe(0);
  });
});
