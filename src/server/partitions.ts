/**
 * Partitions (docs/scaling.md): which partition a device belongs to, which live instance should
 * own a partition, and the lease scripts. Redis-free except for the scripts' text.
 */

/** A device's home partition: FNV-1a (32 bit) of its id, modulo the partition count. */
export function partitionOf(deviceId: string, partitions: number): number {
  if (partitions === 1) return 0;
  return fnv1a(deviceId) % partitions;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: every input bit moves every output bit (FNV alone keeps similar ids in order). */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous (highest random weight) choice of a partition's owner among live instance ids. */
export function preferredOwner(partition: number, instances: readonly string[]): string | null {
  let best: string | null = null;
  let bestW = -1;
  for (const id of instances) {
    const w = mix32(fnv1a(`${partition}#${id}`));
    if (w > bestW || (w === bestW && best !== null && id < best)) {
      best = id;
      bestW = w;
    }
  }
  return best;
}

/**
 * Acquire. KEYS: lease, fence. ARGV: holder name (`instanceId/pid/nonce`), ttl ms, the exact
 * lease value to replace ('' = only if there is none: used to take a lease whose holder is known
 * dead, a previous incarnation on this host). Returns the new fencing token, or nil.
 */
export const LEASE_ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[3] then return false end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. t, 'PX', ARGV[2])
return t`;

/**
 * Whether a lease value names a holder that is certainly dead: a process of this instance id on
 * this host whose pid no longer exists. (A SIGKILLed instance restarted under the same
 * INSTANCE_ID then takes its partitions back at once instead of waiting LEASE_TTL_MS.)
 */
export function holderIsDead(value: string, instanceId: string, alive: (pid: number) => boolean): boolean {
  const m = /^(.*)\/(\d+)\/([a-z0-9]+)\|\d+$/.exec(value);
  if (m === null || m[1] !== instanceId) return false;
  return !alive(Number(m[2]));
}

/** Whether a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Renew. KEYS: lease. ARGV: holder (`id|token`), ttl ms. 1 if still ours (extended), else 0. */
export const LEASE_RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/** Release. KEYS: lease. ARGV: holder. Deletes the lease only if it is still ours. */
export const LEASE_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

/**
 * The fenced group commit, one partition, one slot, atomic.
 * KEYS: lease, log, outbox, snapshot, inbox, archive feed, archive cursor, archive lost marker
 *       (PartitionKeys; the last three are only touched while the archive is on).
 * ARGV: holder (`id|token`), log id, log entry JSON, snapshot JSON or '', log trim MINID or ''
 *       (only with a snapshot), inbox trim MINID or '', the archive's log bound
 *       (ARCHIVE_LOG_MAX_ENTRIES; '' = archive off), the archive feed's MAXLEN, then the outbox
 *       events (JSON each).
 * Refused with a FENCED error, writing nothing, unless the lease still holds `holder`.
 *
 * With the archive on, the events also go on the partition's archive feed (`{"k":"event","e":…}`,
 * feed.ts FeedItem), so each is there exactly once, with the log entry that produced it; and the
 * log trim keeps what the archive has not copied: not past the entry after the archive's cursor
 * (no cursor: it has copied nothing for sure, so nothing is trimmed), then, past the bound, the
 * oldest entries are dropped, the first id kept is recorded in the lost marker (the copier reports
 * the loss), and the script returns how many were dropped (else 0).
 */
export const FENCED_COMMIT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('FENCED: the partition lease is no longer held by this owner')
end
local archive = ARGV[7] ~= ''
redis.call('XADD', KEYS[2], ARGV[2], 'b', ARGV[3])
for i = 9, #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
  if archive then redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'j', '{"k":"event","e":' .. ARGV[i] .. '}') end
end
local dropped = 0
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[4], ARGV[4])
  local minid = ARGV[5]
  if minid ~= '' and archive then
    local cur = redis.call('GET', KEYS[7])
    if not cur then
      minid = ''
    else
      local cm, cs = string.match(cur, '^(%d+)-(%d+)$')
      local mm, ms = string.match(minid, '^(%d+)-(%d+)$')
      local ns = tonumber(cs) + 1
      -- the entry after the cursor, if it comes before the snapshot's MINID (ids compared as numbers)
      if tonumber(cm) < tonumber(mm) or (cm == mm and ns < tonumber(ms)) then minid = cm .. '-' .. string.format('%d', ns) end
    end
  end
  if minid ~= '' then redis.call('XTRIM', KEYS[2], 'MINID', minid) end
  if archive then
    local max = tonumber(ARGV[7])
    local n = redis.call('XLEN', KEYS[2])
    if n > max then
      redis.call('XTRIM', KEYS[2], 'MAXLEN', max)
      local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
      if #first > 0 then redis.call('SET', KEYS[8], first[1][1]) end
      dropped = n - max
    end
  end
end
if ARGV[6] ~= '' then redis.call('XTRIM', KEYS[5], 'MINID', ARGV[6]) end
return dropped`;

/**
 * Moves alert events out of an outbox only if they are still at its head (two movers racing
 * during a hand-over cannot drop each other's entries). KEYS: outbox. ARGV: the events read.
 */
export const OUTBOX_POP = `
local n = 0
for i = 1, #ARGV do
  if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[i] then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n`;

/** The id after a stream id (`ms-seq`), for XTRIM MINID / exclusive ranges. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}

/**
 * REDIS_WAIT_REPLICAS, applied to the node that just took a write: `anchor` is a key in the
 * written slot (so the cluster client sends both commands to that node). The number asked for is
 * capped by the replicas the node has now: a shard whose replica died keeps accepting writes
 * (durable on its primary's AOF) instead of stopping monitoring until the replica is back.
 */
export async function waitForReplicas(redis: import('ioredis').Redis, anchor: string, want: number, timeoutMs = 1000): Promise<void> {
  if (want <= 0) return;
  const role = await redis.pipeline().exists(anchor).call('ROLE').exec();
  const r = role?.[1]?.[1] as [string, number, unknown[]] | undefined;
  const replicas = r !== undefined && r[0] === 'master' && Array.isArray(r[2]) ? r[2].length : 0;
  const n = Math.min(want, replicas);
  if (n === 0) return;
  const res = await redis.pipeline().exists(anchor).call('WAIT', n, timeoutMs).exec();
  const got = Number(res?.[1]?.[1] ?? 0);
  if (res?.[1]?.[0] != null || got < n) throw new Error(`written, but on ${got} of ${n} replicas within ${timeoutMs} ms (REDIS_WAIT_REPLICAS)`);
}
