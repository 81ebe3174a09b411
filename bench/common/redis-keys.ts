import type { Redis } from 'ioredis';

/** Deletes every key under `<prefix>:` (SCAN MATCH prefix:* + UNLINK, `count` keys a step); returns how many. */
export async function unlinkPrefix(redis: Redis, prefix: string, count = 1000): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', count);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
