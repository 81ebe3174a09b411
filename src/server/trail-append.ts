import type { ChainableCommander } from 'ioredis';
import type { Fix } from '../engine/fix.js';
import type { Keys } from './keys.js';

/**
 * A group's trail entries in one script call instead of one XADD per fix: the Node side builds
 * one key list and one packed string (ioredis building thousands of 16-argument commands was a
 * third of the service's CPU at full ingest rate), and Lua does the same XADDs, with the same
 * fields (encodeFix: s, t, y, x, a, b, p) and ids, and adds the devices to the trail-devices set.
 *
 * KEYS: trail-devices set, then the trail stream of each fix in order.
 * ARGV: MAXLEN (~), entry id base ('' = '*' ids; else `<ms>` of the group's log id), id offset
 *       (the log id's seq × 100000: entry i gets `<ms>-<offset + i>`, trailEntryId), length of the
 *       trail key prefix (the device id follows it), the fixes packed: `s,t,y,x,a,b,p;` each.
 * With explicit ids an entry already there ("equal or smaller": written again after a crash
 * between the two commit steps) is skipped; any other error fails the call.
 */
export const TRAIL_APPEND = `
local max = ARGV[1]
local ms = ARGV[2]
local base = tonumber(ARGV[3])
local plen = tonumber(ARGV[4])
local seen = {}
local devices = {}
local i = 1
for s, t, y, x, a, b, p in string.gmatch(ARGV[5], '([^,;]*),([^,;]*),([^,;]*),([^,;]*),([^,;]*),([^,;]*),([^,;]*);') do
  local key = KEYS[i + 1]
  if ms == '' then
    redis.call('XADD', key, 'MAXLEN', '~', max, '*', 's', s, 't', t, 'y', y, 'x', x, 'a', a, 'b', b, 'p', p)
  else
    local r = redis.pcall('XADD', key, 'MAXLEN', '~', max, ms .. '-' .. string.format('%d', base + i - 1), 's', s, 't', t, 'y', y, 'x', x, 'a', a, 'b', b, 'p', p)
    if type(r) == 'table' and r.err and not string.find(r.err, 'equal or smaller', 1, true) then return redis.error_reply(r.err) end
  end
  if not seen[key] then
    seen[key] = true
    devices[#devices + 1] = string.sub(key, plen + 1)
  end
  i = i + 1
end
if i - 1 ~= #KEYS - 1 then return redis.error_reply('TRAIL_APPEND: ' .. (i - 1) .. ' fixes packed for ' .. (#KEYS - 1) .. ' keys') end
for j = 1, #devices, 1000 do
  redis.call('SADD', KEYS[1], unpack(devices, j, math.min(j + 999, #devices)))
end
return i - 1`;

/** One fix's packed trail fields (the values of encodeFix, same text as ioredis would send). */
function packFix(f: Fix): string {
  return `${f.seq},${f.ts},${f.hasPosition ? Math.round(f.lat * 1e7) : ''},${f.hasPosition ? Math.round(f.lon * 1e7) : ''},${f.accuracy === f.accuracy ? f.accuracy : ''},${f.battery === f.battery ? f.battery : ''},${f.strap};`;
}

/**
 * Stages the trail entries of `fixes` (in order) as one TRAIL_APPEND call. `logId` null: ids
 * chosen by Redis (`*`); else the deterministic ids of trailEntryId(logId, i).
 */
export function stageTrail(m: ChainableCommander, keys: Keys, fixes: readonly Fix[], maxPerDevice: number, logId: string | null): void {
  if (fixes.length === 0) return;
  // One argument array (EVAL script numkeys keys… argv…): no spread of a 100k-fix group.
  const args: (string | number)[] = new Array<string | number>(fixes.length + 3);
  args[0] = TRAIL_APPEND;
  args[1] = fixes.length + 1;
  args[2] = keys.trailDevices;
  let packed = '';
  for (let i = 0; i < fixes.length; i++) {
    const f = fixes[i];
    args[i + 3] = keys.trail(f.deviceId);
    packed += packFix(f);
  }
  let ms = '';
  let offset = 0;
  if (logId !== null) {
    const dash = logId.indexOf('-');
    ms = logId.slice(0, dash);
    offset = Number(logId.slice(dash + 1)) * 100_000;
  }
  args.push(maxPerDevice, ms, offset, Buffer.byteLength(keys.trail('')), packed);
  m.call('EVAL', args);
}
