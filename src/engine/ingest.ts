import { advanceClock, fireSubjectTimers, startClock } from './clock.js';
import { allSkippable } from './condition-slots.js';
import { STRAP_NONE, STRAP_OK, type Fix } from './fix.js';
import { endLateBurst, judgeLateFix } from './late-fixes.js';
import { judgeConditions, judgeHealth, judgeVictimFix } from './rules.js';
import {
  D_FIRST_MSG, D_LAST_BATTERY, D_LAST_HEARD, D_LAST_LATE, D_LAST_MSG, D_LAST_POS_MS, D_LAST_STRAP, D_NEWEST, D_RECENT, D_RECENT_N, D_SEQ_HI,
  D_S_COND_BASE, D_S_COND_N, D_S_FROM, D_S_NEXT_TIMER, D_S_QUIET, D_S_READY, D_S_TO, D_SEQ_LO, RECENT_TS, type DeviceState, type EngineState,
  type SubjectState,
} from './state.js';
import { armHealthTimers } from './timers.js';

export type IngestOutcome = 'accepted' | 'late' | 'duplicate' | 'unknown_device';

/** One validated fix through the engine: the device's bookkeeping, then the rules (live or late). */
export function ingestFix(st: EngineState, fix: Fix): IngestOutcome {
  const device = st.devices.get(fix.deviceId);
  if (device === undefined) return 'unknown_device';
  return ingestDevice(st, device, fix);
}

/**
 * The same, with the device's slot id resolved beforehand (Engine.deviceSlot, once per device
 * when the input is parsed): no lookup by device id string per fix. A slot that is not (or no
 * longer) this fix's device is ignored: the fix goes by its device id as in ingestFix.
 */
export function ingestFixAt(st: EngineState, slot: number, fix: Fix): IngestOutcome {
  const device = slot >= 0 && slot < st.deviceBySlot.length ? st.deviceBySlot[slot] : null;
  if (device === null || device.id !== fix.deviceId) return ingestFix(st, fix);
  return ingestDevice(st, device, fix);
}

/**
 * The device's numbers are read and written in its row (state.ts DEV_ROW), not through the
 * DeviceState accessors: the same fields, without the object.
 */
function ingestDevice(st: EngineState, device: DeviceState, fix: Fix): IngestOutcome {
  const h = st.devHot;
  const o = device.o;
  const seq = fix.seq;
  const ts = fix.ts;
  // SeqSet's fast path (the next message in order) on the row; anything else through the set.
  if (seq === h[o + D_SEQ_HI] + 1 && h[o + D_SEQ_LO] <= h[o + D_SEQ_HI]) h[o + D_SEQ_HI] = seq;
  else if (!device.seen.add(seq)) return 'duplicate';
  if (st.fixClock && ts > st.clockMs) {
    // Most fixes pass no timer: one comparison, and no call (a call would box the time).
    if (ts > st.timers.nextDue || !st.started) advanceClock(st, ts);
    else st.clockMs = ts;
  } else if (!st.started) startClock(st, ts);

  const late = ts < h[o + D_NEWEST];
  if (!late) {
    // Live service: the subject's timers this message has passed in event time fire first
    // (replay's clock fired them above). One comparison when none is due.
    if (ts > h[o + D_S_NEXT_TIMER]) fireSubjectTimers(st, device.subject as SubjectState, ts);
    if (h[o + D_LAST_LATE] !== Infinity) endLateBurst(st, device);
    h[o + D_NEWEST] = ts;
    const n = h[o + D_RECENT_N];
    h[o + D_RECENT + (n % RECENT_TS)] = ts;
    h[o + D_RECENT_N] = n + 1;
  } else if (ts < h[o + D_LAST_LATE]) {
    // A late fix older than the previous one starts a new burst.
    endLateBurst(st, device);
  }
  if (late) h[o + D_LAST_LATE] = ts;

  const heard = st.fixClock ? ts : Math.max(ts, st.clockMs);
  if (heard > h[o + D_LAST_HEARD]) h[o + D_LAST_HEARD] = heard;
  if (!late) {
    const b = fix.battery;
    if (b === b) h[o + D_LAST_BATTERY] = b;
    if (fix.strap !== STRAP_NONE) h[o + D_LAST_STRAP] = fix.strap;
  }

  const subject = device.subject;
  if (subject === null) {
    judgeVictimFix(st, device, fix, late);
    return late ? 'late' : 'accepted';
  }
  if (!late) {
    if (h[o + D_FIRST_MSG] === -Infinity) h[o + D_FIRST_MSG] = ts;
    if (ts > h[o + D_LAST_MSG]) h[o + D_LAST_MSG] = ts;
    if (fix.hasPosition) {
      h[o + D_LAST_POS_MS] = ts;
      device.rememberPosition(fix);
    }
  }
  // subject.validAt(ts), from the row.
  if (!(ts >= h[o + D_S_FROM] && ts < h[o + D_S_TO])) {
    if (!late) armHealthTimers(st, device);
    return late ? 'late' : 'accepted';
  }
  if (late) {
    judgeLateFix(st, subject, fix);
  } else {
    // Nothing to judge for health (judgeHealth's own first test, on the row), and every
    // condition row says its condition would change nothing: the subject is not read at all.
    if (!(h[o + D_S_QUIET] === 1 && fix.hasPosition && fix.strap <= STRAP_OK && !(fix.battery < st.settings.batteryLowBelow))) {
      judgeHealth(st, subject, fix);
    }
    if (fix.hasPosition && !(h[o + D_S_READY] === 1 && allSkippable(st.condHot, h[o + D_S_COND_BASE], h[o + D_S_COND_N], fix.lon, fix.lat, ts))) {
      judgeConditions(st, subject, fix);
    }
    armHealthTimers(st, device);
  }
  return late ? 'late' : 'accepted';
}
