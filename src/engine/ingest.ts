import { advanceClock, fireSubjectTimers, startClock } from './clock.js';
import { STRAP_NONE, type Fix } from './fix.js';
import { endLateBurst, judgeLateFix } from './late-fixes.js';
import { judgeConditions, judgeHealth, judgeVictimFix } from './rules.js';
import { RECENT_TS, type EngineState } from './state.js';
import { armHealthTimers } from './timers.js';

export type IngestOutcome = 'accepted' | 'late' | 'duplicate' | 'unknown_device';

/** One validated fix through the engine: the device's bookkeeping, then the rules (live or late). */
export function ingestFix(st: EngineState, fix: Fix): IngestOutcome {
  const device = st.devices.get(fix.deviceId);
  if (device === undefined) return 'unknown_device';
  if (!device.seen.add(fix.seq)) return 'duplicate';
  if (st.fixClock && fix.ts > st.clockMs) {
    // Most fixes pass no timer: one comparison, and no call (a call would box the time).
    if (fix.ts > st.timers.nextDue || !st.started) advanceClock(st, fix.ts);
    else st.clockMs = fix.ts;
  } else if (!st.started) startClock(st, fix.ts);

  const late = fix.ts < device.newestMs;
  if (!late) {
    // Live service: the subject's timers this message has passed in event time fire first
    // (replay's clock fired them above). One comparison when none is due.
    const s = device.subject;
    if (s !== null && fix.ts > s.nextTimerMs) fireSubjectTimers(st, s, fix.ts);
    if (device.lastLateMs !== Infinity) endLateBurst(st, device);
    device.newestMs = fix.ts;
    device.recent[device.recentN++ % RECENT_TS] = fix.ts;
  } else if (fix.ts < device.lastLateMs) {
    // A late fix older than the previous one starts a new burst.
    endLateBurst(st, device);
  }
  if (late) device.lastLateMs = fix.ts;

  const heard = st.fixClock ? fix.ts : Math.max(fix.ts, st.clockMs);
  if (heard > device.lastHeardMs) device.lastHeardMs = heard;
  if (!late) {
    if (fix.battery === fix.battery) device.lastBattery = fix.battery;
    if (fix.strap !== STRAP_NONE) device.lastStrap = fix.strap;
  }

  const subject = device.subject;
  if (subject === null) {
    judgeVictimFix(st, device, fix, late);
    return late ? 'late' : 'accepted';
  }
  if (!late) {
    if (device.firstMessageMs === -Infinity) device.firstMessageMs = fix.ts;
    if (fix.ts > device.lastMessageMs) device.lastMessageMs = fix.ts;
    if (fix.hasPosition) {
      device.lastPositionMs = fix.ts;
      device.rememberPosition(fix);
    }
  }
  if (!subject.validAt(fix.ts)) {
    if (!late) armHealthTimers(st, device);
    return late ? 'late' : 'accepted';
  }
  if (late) {
    judgeLateFix(st, subject, fix);
  } else {
    judgeHealth(st, subject, fix);
    if (fix.hasPosition) judgeConditions(st, subject, fix);
    armHealthTimers(st, device);
  }
  return late ? 'late' : 'accepted';
}
