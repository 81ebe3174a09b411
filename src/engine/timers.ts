import type { DeviceState, EngineState, EngineTimer, SubjectState } from './state.js';

/**
 * Arming the engine's timers. What each does when it fires is in clock.ts. Timers hold their
 * subject; a retired subject's timers stay queued and are skipped when they fire.
 *
 * Subject timers (curfew deadline and end, window end, validTo) are judged in event time, the
 * same in replay and in the live service. In replay (clock 'fixes') the clock is the latest fix
 * time, so a timer fires before the first fix past it. In the live service (clock 'external')
 * a subject timer fires either when its own device sends an in-order message past the due time
 * (before that message is processed: replay's order), or when the service clock passes the due
 * time + settings.timerWaitS (a quiet device: fixes still in flight are counted first). Either
 * way it decides on the subject's own messages up to its due time and reports `at` = the due
 * time. device_offline is the one timer by arrival (the service clock; see DeviceState).
 * no_fix has no timer: it is judged on the device's messages (rules.ts judgeHealth).
 */

/** Curfew: start + grace; judged on the latest position, then the window's end is armed. */
export const T_CURFEW_DEADLINE = 1;
/** Curfew: the window's end (closes its episodes and arms the next deadline). */
export const T_CURFEW_END = 2;
/** Closes a scheduled condition's episodes at its window's end (exclusion, and curfew episodes opened late in the window). */
export const T_WINDOW_END = 3;
/** The order ends: every episode closes. */
export const T_VALID_TO = 4;
/** Retired: no_fix is judged on messages, not timed. Snapshots written before may hold one; it is dropped. */
export const T_NO_FIX = 5;
export const T_OFFLINE = 6;

/**
 * Queues a timer of this kind due at atMs in event time (cond: condition index or -1; endMs:
 * curfew interval end or 0). Subject timers in the live service are also listed on the subject
 * and wait timerWaitS on the service clock (see above).
 */
export function arm(st: EngineState, atMs: number, kind: number, s: SubjectState, cond: number, endMs: number): void {
  const live = !st.fixClock && kind !== T_OFFLINE;
  const due = live ? atMs + st.settings.timerWaitS * 1000 : atMs;
  let t = st.spareTimer;
  if (t !== null) {
    // Replay: the last timer fired, which nothing references any more (clock.ts).
    st.spareTimer = null;
    t.due = due;
    t.atMs = atMs;
    t.fired = false;
    t.kind = kind;
    t.subject = s;
    t.cond = cond;
    t.endMs = endMs;
  } else {
    t = { due, order: 0, atMs, fired: false, kind, subject: s, cond, endMs };
  }
  st.timers.push(t);
  if (live) {
    s.pending.push(t);
    if (atMs < s.nextTimerMs) s.nextTimerMs = atMs;
  }
}

/**
 * Live service: takes a fired timer off its subject's list. Returns false if it had fired
 * already (by its device's message, or by the service clock).
 */
export function settle(t: EngineTimer): boolean {
  if (t.fired) return false;
  t.fired = true;
  const s = t.subject;
  const p = s.pending;
  const i = p.indexOf(t);
  if (i >= 0) {
    p[i] = p[p.length - 1];
    p.pop();
    let next = Infinity;
    for (let k = 0; k < p.length; k++) if (p[k].atMs < next) next = p[k].atMs;
    s.nextTimerMs = next;
  }
  return true;
}

/** Live service: the subject's earliest pending timer due strictly before `beforeMs` (ties in arming order), or null. */
export function nextPending(s: SubjectState, beforeMs: number): EngineTimer | null {
  if (!(s.nextTimerMs < beforeMs)) return null;
  let best: EngineTimer | null = null;
  for (const t of s.pending) {
    if (t.atMs < beforeMs && (best === null || t.atMs < best.atMs || (t.atMs === best.atMs && t.order < best.order))) best = t;
  }
  return best;
}

/** Arms a subject's timers that come from configuration: validTo and each curfew's next deadline. */
export function armSubject(st: EngineState, s: SubjectState, now: number): void {
  if (s.cfg.validToMs !== Infinity && s.cfg.validToMs > now) arm(st, s.cfg.validToMs, T_VALID_TO, s, -1, 0);
  const conds = s.cfg.conditions;
  // Curfews and scheduled inclusions (must be inside from window start + grace).
  for (let k = 0; k < conds.length; k++) if (conds[k].inside && conds[k].schedule !== null) armCurfew(st, s, k, now);
}

/** Arms the curfew's deadline (window start + grace) in the window running at `now`, or in the next one. */
export function armCurfew(st: EngineState, s: SubjectState, k: number, now: number): void {
  const c = s.cfg.conditions[k];
  const cur = c.schedule === null ? null : c.schedule.intervalAt(now);
  if (cur === null) {
    armNextCurfew(st, s, k, now);
    return;
  }
  const deadline = cur.startMs + c.graceMs;
  // Started mid-window past its deadline: fixes decide from here on; the end still closes.
  if (deadline > now && deadline < cur.endMs) armFinite(st, deadline, T_CURFEW_DEADLINE, s, k, cur.endMs);
  else armFinite(st, cur.endMs, T_CURFEW_END, s, k, cur.endMs);
}

/** Arms the deadline of the curfew's next window starting after `afterMs` (or its end, if grace outlasts it). */
export function armNextCurfew(st: EngineState, s: SubjectState, k: number, afterMs: number): void {
  const c = s.cfg.conditions[k];
  const next = c.schedule === null ? null : c.schedule.nextIntervalAfter(afterMs);
  if (next === null) return;
  const deadline = next.startMs + c.graceMs;
  if (deadline < next.endMs) armFinite(st, deadline, T_CURFEW_DEADLINE, s, k, next.endMs);
  else armFinite(st, next.endMs, T_CURFEW_END, s, k, next.endMs);
}

/** Arms a curfew window's end (after its deadline fired). */
export function armCurfewEnd(st: EngineState, s: SubjectState, k: number, endMs: number): void {
  armFinite(st, endMs, T_CURFEW_END, s, k, endMs);
}

/**
 * Arms the timer closing condition k at its window's end, once per window: an episode opened in
 * a window must close at its end, even when that end has passed on the clock already (a live
 * backlog uploaded in order after the window's own timer fired).
 */
export function armWindowEnd(st: EngineState, s: SubjectState, k: number, windowEndMs: number): void {
  if (s.endTimerMs[k] === windowEndMs) return;
  s.endTimerMs[k] = windowEndMs;
  arm(st, windowEndMs, T_WINDOW_END, s, k, windowEndMs);
}

/** Arms the device's device_offline timer if it is due earlier than the one armed. */
export function armHealthTimers(st: EngineState, device: DeviceState): void {
  const s = device.subject;
  if (s === null) return;
  const offDue = device.lastHeardMs + st.settings.offlineAfterS * 1000;
  if (device.lastHeardMs > -Infinity && offDue < device.offlineDue) {
    device.offlineDue = offDue;
    arm(st, offDue, T_OFFLINE, s, -1, 0);
  }
}

/** Re-arms the health timer from scratch (a subject replaced: its old timers are retired). */
export function rearmHealthTimers(st: EngineState, device: DeviceState): void {
  device.offlineDue = Infinity;
  armHealthTimers(st, device);
}

function armFinite(st: EngineState, due: number, kind: number, s: SubjectState, cond: number, endMs: number): void {
  // An always-active schedule has no start or end: nothing to time.
  if (Number.isFinite(due)) arm(st, due, kind, s, cond, endMs);
}
