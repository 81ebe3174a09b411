import { idleAndClear } from './condition-slots.js';
import { closeCondition, closeSubject, openEpisode } from './episodes.js';
import { endLateBurst } from './late-fixes.js';
import { judgeCurfew } from './rules.js';
import type { EngineState, EngineTimer, SubjectState, Track } from './state.js';
import {
  armCurfewEnd, armHealthTimers, armNextCurfew, armSubject, nextPending, settle, T_CURFEW_DEADLINE, T_CURFEW_END, T_OFFLINE, T_VALID_TO,
  T_WINDOW_END,
} from './timers.js';

/**
 * The engine's clock: starting it, moving it (advanceTo, flush at the end of a replay), and what
 * each timer does when it fires (timers.ts says when: the rule for each timer).
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
    recycle(st, t);
  }
  if (now > st.clockMs) st.clockMs = now;
  // Live service: a backlog upload is over once its device has sent nothing for timerWaitS; its
  // late episodes close then (at the next fix the engine had after them), not at some later
  // message that may never come. Replay ends bursts on the device's next fix or at end of input.
  if (!st.fixClock && st.lateBursts.size > 0) {
    const quietMs = st.settings.timerWaitS * 1000;
    for (const d of st.lateBursts) if (now - d.lastHeardMs > quietMs) endLateBurst(st, d);
  }
}

/** End of input (replay): fires timers due up to and including the clock; ends late bursts. */
export function flushClock(st: EngineState): void {
  for (;;) {
    const t = st.timers.peek();
    if (t === undefined || t.due > st.clockMs) break;
    st.timers.pop();
    fire(st, t);
    recycle(st, t);
  }
  for (const device of st.devices.values()) endLateBurst(st, device);
}

/**
 * Live service: an in-order message of the subject's device at `ts` first fires the subject's
 * timers due strictly before it, in order (as replay's clock would have), including any they arm.
 */
export function fireSubjectTimers(st: EngineState, s: SubjectState, ts: number): void {
  for (let t = nextPending(s, ts); t !== null; t = nextPending(s, ts)) fire(st, t);
}

/**
 * Replay: a timer popped and fired is referenced by nothing (timers fire only from the queue),
 * so the next arm() reuses it: a curfew wave re-arms tens of thousands of timers at once, and
 * fresh ones would each survive a scavenge or two. Not live: there a timer fired by its device's
 * message is still in the queue (skipped when popped), and the pending lists hold timers too.
 */
function recycle(st: EngineState, t: EngineTimer): void {
  if (st.fixClock) st.spareTimer = t;
}

function fire(st: EngineState, t: EngineTimer): void {
  const s = t.subject;
  if (!settle(t) || s.retired) return;
  const device = s.device;
  const settings = st.settings;
  const at = t.atMs;
  switch (t.kind) {
    case T_CURFEW_DEADLINE: {
      const last = device.lastFix;
      // Most subjects are home and have nothing open: judging them would change nothing, and
      // the condition's row says so without reading the track or the zone (condition-slots.ts).
      if (last !== null && idleAndClear(st, s, t.cond, last.lon, last.lat)) {
        armCurfewEnd(st, s, t.cond, t.endMs);
        break;
      }
      const track = s.tracks[t.cond] as Track;
      // Not home by start + grace: judged on the latest position known at the deadline, if it
      // is recent: taken since the previous window ended and within offlineAfterS. An older
      // one says nothing about tonight; device-health alerts report the silence and the next
      // fix decides.
      const recent = last !== null && last.ts >= track.prevWindowEndMs && at - last.ts <= settings.offlineAfterS * 1000;
      if (s.validAt(at) && recent && track.breach.open === null) {
        track.pendingSinceMs = NaN;
        judgeCurfew(st, track, last, at);
      }
      armCurfewEnd(st, s, t.cond, t.endMs);
      break;
    }
    case T_CURFEW_END:
      (s.tracks[t.cond] as Track).prevWindowEndMs = at;
      closeCondition(st, s, t.cond, at);
      armNextCurfew(st, s, t.cond, at);
      break;
    case T_WINDOW_END:
      if (s.endTimerMs[t.cond] === at) {
        s.endTimerMs[t.cond] = -Infinity;
        closeCondition(st, s, t.cond, at);
      }
      break;
    case T_VALID_TO:
      closeSubject(st, s, at);
      break;
    case T_OFFLINE: {
      device.offlineDue = Infinity;
      const due = device.lastHeardMs + settings.offlineAfterS * 1000;
      if (due > at) armHealthTimers(st, device);
      else if (s.validAt(at) && s.offline.open === null) openEpisode(st, s, s.offline, at, at, 'confirmed', null);
      break;
    }
  }
}

