import { closeCondition, closeSubject, openEpisode } from './episodes.js';
import { endLateBurst } from './late-fixes.js';
import { judgeCurfew } from './rules.js';
import type { EngineState, EngineTimer, Track } from './state.js';
import {
  armCurfewEnd, armHealthTimers, armNextCurfew, armSubject, T_CURFEW_DEADLINE, T_CURFEW_END, T_NO_FIX, T_OFFLINE, T_VALID_TO,
  T_WINDOW_END,
} from './timers.js';

/**
 * The engine's clock: starting it, moving it (advanceTo, flush at the end of a replay), and what
 * each timer does when the clock passes its due time.
 */

export function startClock(st: EngineState, now: number): void {
  st.started = true;
  st.clockMs = now;
  for (const s of st.subjects.values()) armSubject(st, s, now);
}

/**
 * Moves the clock to now, firing every timer due strictly before it (a fix at the exact
 * deadline still counts as in time). Never moves the clock back.
 */
export function advanceClock(st: EngineState, now: number): void {
  if (!st.started) startClock(st, now);
  for (;;) {
    const t = st.timers.peek();
    if (t === undefined || t.due >= now) break;
    st.timers.pop();
    fire(st, t);
  }
  if (now > st.clockMs) st.clockMs = now;
}

/** End of input (replay): fires timers due up to and including the clock; ends late bursts. */
export function flushClock(st: EngineState): void {
  for (;;) {
    const t = st.timers.peek();
    if (t === undefined || t.due > st.clockMs) break;
    st.timers.pop();
    fire(st, t);
  }
  for (const device of st.devices.values()) endLateBurst(st, device);
}

function fire(st: EngineState, t: EngineTimer): void {
  const s = t.subject;
  if (s.retired) return;
  const device = s.device;
  const settings = st.settings;
  switch (t.kind) {
    case T_CURFEW_DEADLINE: {
      const track = s.tracks[t.cond] as Track;
      const last = device.lastFix;
      // Not home by start + grace: judged on the latest position known at the deadline, if it
      // is recent: taken since the previous window ended and within offlineAfterS. An older
      // one says nothing about tonight; device-health alerts report the silence and the next
      // fix decides.
      const recent = last !== null && last.ts >= track.prevWindowEndMs && t.due - last.ts <= settings.offlineAfterS * 1000;
      if (s.validAt(t.due) && recent && track.breach.open === null) {
        track.pendingSinceMs = NaN;
        judgeCurfew(st, track, last, t.due);
      }
      armCurfewEnd(st, s, t.cond, t.endMs);
      break;
    }
    case T_CURFEW_END:
      (s.tracks[t.cond] as Track).prevWindowEndMs = t.due;
      closeCondition(st, s, t.cond, t.due);
      armNextCurfew(st, s, t.cond, t.due);
      break;
    case T_WINDOW_END:
      if (s.endTimerMs[t.cond] === t.due) {
        s.endTimerMs[t.cond] = -Infinity;
        closeCondition(st, s, t.cond, t.due);
      }
      break;
    case T_VALID_TO:
      closeSubject(st, s, t.due);
      break;
    case T_NO_FIX: {
      device.noFixDue = Infinity;
      const due = device.positionRefMs + settings.noFixAfterS * 1000;
      if (due > t.due) {
        armHealthTimers(st, device);
      } else if (device.lastMessageMs > device.positionRefMs && s.validAt(t.due) && s.noFix.open === null) {
        // Messages keep coming but none with a position.
        openEpisode(st, s, s.noFix, t.due, t.due, 'confirmed', null);
      }
      break;
    }
    case T_OFFLINE: {
      device.offlineDue = Infinity;
      const due = device.lastHeardMs + settings.offlineAfterS * 1000;
      if (due > t.due) armHealthTimers(st, device);
      else if (s.validAt(t.due) && s.offline.open === null) openEpisode(st, s, s.offline, t.due, t.due, 'confirmed', null);
      break;
    }
  }
}

