/**
 * The curfew wave of the cluster chaos run (issue 15): thousands of subjects whose curfew
 * deadline is the same second, on the real clock, and a fault at that deadline.
 *
 * The window starts at a minute boundary inside the scenario (Europe/London wall time, every
 * day, 30 minutes long); `graceS` puts the deadline a little later when the set-up needs more
 * time than is left before the boundary (README "Engine semantics": the deadline is window start
 * + grace). Before it every subject's tag sends one fix: half of them at home, the rest out.
 * Tags then stay quiet, so in the live service their deadline timers all fire together when the
 * service clock passes the deadline + `timerWaitS` (set to WAIT_S here instead of 60 s, to keep
 * the run short): the wave. As soon as the first wave record of the victim's partitions is in
 * Redis, the fault strikes (an instance SIGKILLed with its delivery worker, or the Redis primary
 * holding the most partitions SIGKILLed: its replica is promoted), and meanwhile a tenth of the
 * subjects come home late (out at the deadline, a fix at home after it) and a tenth leave (home
 * at the deadline, a fix outside after it), their fixes streamed through any live instance. A
 * killed instance is started again once the others took over (as a supervisor would): the
 * partitions preferred for it are handed back while the wave's alerts are still being delivered.
 *
 * What an officer relies on, checked against Redis and the webhook receiver:
 *  - every subject out at the deadline has exactly one curfew episode, opened at the deadline
 *    (`missedEpisodes`, `doubleEpisodes`); the late ones have it closed; every leaver has exactly
 *    one, opened at its fix; nobody home has one (`falseEpisodes`);
 *  - each of those events reaches the team's webhook with a 2xx (`undelivered`), and none twice
 *    (`duplicateDeliveries`), except for a repeat whose first 2xx fell in the documented crash
 *    window (docs/reliability.md: the receiver answered, the sender died or could not record it
 *    before the takeover): `crashWindowRepeats`, reported;
 *  - every acked fix is in its trail exactly once (`ackedLost`, `trailDoubles`);
 *  - seconds from the fault until the partitions were held and their inboxes drained
 *    (`takeoverSeconds`), until every wave episode was recorded (`waveRecordedSeconds`), until
 *    every event was delivered (`waveDeliveredSeconds`).
 */
import type { Redis } from 'ioredis';
import { decodeFix } from '../../../src/engine/fix-codec.js';
import { formatTime } from '../../../src/engine/time.js';
import type { Keys } from '../../../src/server/keys.js';
import { primaryPortOf, type LocalCluster } from '../../../src/server/local-cluster.js';
import { partitionOf, preferredOwner } from '../../../src/server/partitions.js';
import { api, ENGINE_SETTINGS, fix, sleep, streamUntilAcked, type FixIn, type Instance, type Scenario } from './cluster-kit.js';
import type { Receiver } from './receiver.js';

/** Live service: a quiet tag's deadline fires this long after it (settings.timerWaitS). */
export const WAIT_S = 5;
const HOME_ZONES = 64;
const WINDOW_MIN = 30;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** What the scenario needs of the cluster run's `Run` (cluster-run.ts). */
export interface CurfewRun {
  readonly keys: Keys;
  readonly instances: Instance[];
  readonly ids: string[];
  start(n: number, workers: number, env?: Record<string, string>): Promise<void>;
  restart(k: number): Promise<void>;
  leases(): Promise<(string | null)[]>;
  takeover(t0: number, dead: string | null): Promise<{ total: number; leases: number }>;
  stop(): Promise<void>;
}

export interface CurfewFault {
  /** What was killed, for the figures. */
  what: string;
  /** Partitions whose evaluation the fault interrupted. */
  partitions: number[];
  /** The instance killed (its partitions must move), or null. */
  dead: string | null;
  /** Start the dead instance again once the others took over: its partitions are handed back to it. */
  restart?: boolean;
  /** Strikes; resolves when the fault is done (e.g. the cluster answers again). */
  strike(): Promise<void>;
  /** After the checks of takeover (e.g. the old primary rejoins as a replica). */
  after?: () => Promise<void>;
}

export interface CurfewOptions {
  name: string;
  subjects: number;
  /** Seconds from the scenario's start the set-up may take (instances, configuration, first fixes). */
  setupS: number;
  cluster: LocalCluster;
  redis: Redis;
  receiver: Receiver;
  team: { id: string; secret: string; path: string };
  run: CurfewRun;
  /** Chooses the fault once the partitions are owned (the run is started). */
  fault(run: CurfewRun): Promise<CurfewFault>;
  log(m: string): void;
}

type Kind = 'home' | 'out' | 'late' | 'leaver';
/** Half at home, three tenths out, a tenth coming home late, a tenth leaving. */
const kindOf = (i: number): Kind => (['home', 'home', 'home', 'home', 'home', 'out', 'out', 'out', 'late', 'leaver'] as const)[i % 10];

const zoneCentre = (k: number): [number, number] => [51.45 + (k % 8) * 0.01, -0.25 + Math.floor(k / 8) * 0.015];
function homeZone(k: number): object {
  const [lat, lon] = zoneCentre(k);
  const dLat = 0.0003, dLon = 0.0005; // about 67 m × 69 m
  return {
    type: 'Feature', id: `CH-${k}`,
    geometry: { type: 'Polygon', coordinates: [[[lon - dLon, lat - dLat], [lon + dLon, lat - dLat], [lon + dLon, lat + dLat], [lon - dLon, lat + dLat], [lon - dLon, lat - dLat]]] },
    properties: { name: `curfew address ${k}` },
  };
}
const home = (i: number): [number, number] => zoneCentre(i % HOME_ZONES);
const away = (i: number): [number, number] => {
  const [lat, lon] = zoneCentre(i % HOME_ZONES);
  return [lat - 0.02, lon]; // 2.2 km south
};

/** "HH:MM" of an instant in Europe/London. */
function londonHHMM(ms: number): string {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '00';
  return `${get('hour')}:${get('minute')}`;
}

export interface CurfewScenario extends Scenario {
  curfew: {
    subjects: number;
    home: number;
    out: number;
    comeHomeLate: number;
    leave: number;
    windowStartLondon: string;
    windowStart: string;
    graceS: number;
    deadline: string;
    timerWaitS: number;
    fault: string;
    faultPartitions: number[];
    /** Seconds after the deadline the fault struck. */
    faultAfterDeadlineS: number;
    /** Wave episodes (of the expected) already recorded when the fault struck. */
    waveRecordedAtFault: number;
    /** The killed instance started again: seconds from its start until it held its partitions again (null: not restarted). */
    handBackSeconds: number | null;
    /** Recorded events no subject should have (an `updated`, a `closed` of someone still out, …). */
    unexpectedEvents: number;
    /** Episodes wrongly in (or missing from) the open-alerts set (`<prefix>:alerts:open`). */
    openSetWrong: number;
    expectedEpisodes: number;
    recordedEpisodes: number;
    missedEpisodes: number;
    falseEpisodes: number;
    expectedEvents: number;
    delivered: number;
    crashWindowRepeats: number;
    waveRecordedSeconds: number;
    waveDeliveredSeconds: number;
    samples: string[];
  };
}

export async function curfewScenario(o: CurfewOptions): Promise<CurfewScenario> {
  const { redis, receiver, run, team, log } = o;
  const started = Date.now();
  receiver.keys.clear();
  // The window: the first minute boundary after now (inside the scenario); the deadline no
  // earlier than the end of the set-up budget, through the grace.
  const windowStart = Math.ceil((started + 1000) / 60_000) * 60_000;
  const deadline = Math.max(windowStart, Math.ceil((started + o.setupS * 1000) / 1000) * 1000);
  const graceS = (deadline - windowStart) / 1000;
  const startHHMM = londonHHMM(windowStart);
  const endHHMM = londonHHMM(windowStart + WINDOW_MIN * 60_000);
  log(`${o.name}: curfew ${startHHMM}–${endHHMM} Europe/London (${formatTime(windowStart)}), grace ${graceS} s: deadline ${formatTime(deadline)}, in ${((deadline - started) / 1000).toFixed(1)} s`);

  const N = o.subjects;
  const ids = Array.from({ length: N }, (_, i) => `CF-${i}`);
  const kinds = ids.map((_, i) => kindOf(i));
  try {
    await run.start(3, 1, { ENGINE_SETTINGS: JSON.stringify({ ...ENGINE_SETTINGS, timerWaitS: WAIT_S }) });
    const url = run.instances[0].url;
    // As an operator's client should: a 503 (a partition moving, "send again") is sent again.
    const op = async (method: string, path: string, body?: unknown): Promise<unknown> => {
      for (let attempt = 1; ; attempt++) {
        const r = await api(url, method, path, body).catch((e: Error) => {
          throw new Error(`${method} ${path}: ${e.message} (${String((e.cause as Error | undefined)?.message)}); ${run.ids[0]} output:\n${run.instances[0].output().slice(-2000)}`);
        });
        if (r.status === 200) return r.body;
        if (r.status !== 503 || attempt >= 10) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
        log(`${o.name}: ${method} ${path} answered 503 (${JSON.stringify(r.body).slice(0, 160)}); sending again`);
        await sleep(300 * attempt);
      }
    };
    await op('PUT', `/v1/teams/${team.id}`, { webhooks: [{ id: 'default', url: receiver.url(team.path), secret: team.secret, timeoutMs: 5000 }] });
    await op('POST', '/v1/zones', { type: 'FeatureCollection', features: Array.from({ length: HOME_ZONES }, (_, k) => homeZone(k)) });
    const subjects = ids.map((d, i) => ({
      id: `S-${d}`, deviceId: d, team: team.id, risk: 'high', cohort: 'fixed', timezone: 'Europe/London',
      conditions: [{ id: 'c1', type: 'curfew', zone: `CH-${i % HOME_ZONES}`, graceS, schedule: { windows: [{ days: DAYS, start: startHHMM, end: endHHMM }] } }],
    }));
    for (let k = 0; k < N; k += 500) {
      const imported = await op('POST', '/v1/subjects', { subjects: subjects.slice(k, k + 500) }) as { accepted: number; rejected: unknown[] };
      if (imported.rejected.length > 0) throw new Error(`bulk import refused ${imported.rejected.length} subjects: ${JSON.stringify(imported.rejected.slice(0, 3))}`);
    }
    // The other instances learn the subjects through the configuration-change stream.
    await sleep(1500);

    // Before the deadline: every tag says where it is (home, or out).
    const acked = new Set<string>();
    const before: FixIn[] = ids.map((d, i) => fix(d, 1, Math.min(Date.now(), deadline - 2000), kinds[i] === 'home' || kinds[i] === 'leaver' ? home(i) : away(i)));
    const live = new Set<number>(run.instances.map((_, k) => k));
    const urls = (): string[] => [...live].map((k) => run.instances[k].url);
    await streamUntilAcked(urls, before, acked, { per: 50, deadlineMs: Math.max(1000, deadline - 1500 - Date.now()) });
    const setupS = (Date.now() - started) / 1000;
    if (acked.size < N) throw new SetupOverrun(`set-up overran: ${acked.size} of ${N} fixes acked ${((Date.now() - deadline) / 1000).toFixed(1)} s from the deadline (set-up ${setupS.toFixed(1)} s; raise setupS)`);
    log(`${o.name}: ${N} subjects configured and placed in ${setupS.toFixed(1)} s; waiting for the deadline`);

    // What should be there: one curfew episode per subject out at the deadline (opened then;
    // closed at the late ones' fix), one per leaver (opened at its fix), none for anyone home.
    const expected = new Map<string, string[]>(); // subject → events `${episodeId}:${event}`
    ids.forEach((d, i) => {
      const s = `S-${d}`;
      const k = kinds[i];
      if (k === 'out') expected.set(s, [`${s}:c1:${formatTime(deadline)}:opened`]);
      if (k === 'late') expected.set(s, [`${s}:c1:${formatTime(deadline)}:opened`, `${s}:c1:${formatTime(deadline)}:closed`]);
      if (k === 'leaver') expected.set(s, [`${s}:c1:${formatTime(deadline + 1000)}:opened`]);
    });
    const wantEvents = [...expected.values()].flat();
    const events = async (): Promise<{ episodes: string[]; keys: Set<string> }> => {
      const episodes = await redis.zrange(run.keys.alertsAll, 0, -1);
      const keys = new Set<string>();
      for (let k = 0; k < episodes.length; k += 500) {
        const pipe = redis.pipeline();
        for (const e of episodes.slice(k, k + 500)) pipe.hkeys(run.keys.alert(e));
        ((await pipe.exec()) ?? []).forEach(([err, fields], j) => {
          if (err) return;
          for (const f of fields as string[]) if (f === 'opened' || f === 'updated' || f === 'closed') keys.add(`${episodes[k + j]}:${f}`);
        });
      }
      return { episodes, keys };
    };
    /** Seconds from `t0` until `ok`, polled (Infinity: not within `ms`). */
    const waitUntil = async (t0: number, ok: () => Promise<boolean> | boolean, ms: number): Promise<number> => {
      const end = Date.now() + ms;
      for (;;) {
        if (await Promise.resolve(ok()).catch(() => false)) return (Date.now() - t0) / 1000;
        if (Date.now() > end) return Infinity;
        await sleep(250);
      }
    };
    const deliveredKey = (k: string): boolean => (receiver.keys.get(`${team.path} ${k}`)?.ok ?? 0) > 0;
    // The fault's target, and the wave episodes of its partitions it watches for.
    const fault = await o.fault(run);
    const onFault = new Set(fault.partitions);
    const waveSubjects = new Set(ids.filter((_, i) => kinds[i] === 'out' || kinds[i] === 'late').map((d) => `S-${d}`));
    const watched = new Set(ids.filter((d, i) => (kinds[i] === 'out' || kinds[i] === 'late') && onFault.has(partitionOf(d, run.keys.partitions))).map((d) => `S-${d}`));
    const subjectOf = (episodeId: string): string => episodeId.slice(0, episodeId.indexOf(':'));
    await sleep(Math.max(0, deadline + WAIT_S * 1000 - 1500 - Date.now()));
    const giveUp = deadline + WAIT_S * 1000 + 20_000;
    let seenAtFault = 0;
    let struckOnWave = false;
    for (;;) {
      const recorded = await redis.zrange(run.keys.alertsAll, 0, -1).catch(() => [] as string[]);
      if (recorded.some((e) => watched.has(subjectOf(e)))) {
        seenAtFault = recorded.filter((e) => waveSubjects.has(subjectOf(e))).length;
        struckOnWave = true;
        break;
      }
      if (Date.now() > giveUp) break;
      await sleep(20);
    }
    const tFault = Date.now();
    const struck = fault.strike();
    // From the fault: until every wave event is recorded, and until every one is delivered.
    let rec: { episodes: string[]; keys: Set<string> } = { episodes: [], keys: new Set() };
    const recordedP = waitUntil(tFault, async () => {
      rec = await events();
      return wantEvents.every((k) => rec.keys.has(k));
    }, 90_000);
    const deliveredP = waitUntil(tFault, () => wantEvents.every(deliveredKey), 90_000);
    log(`${o.name}: ${fault.what} at deadline + ${((tFault - deadline) / 1000).toFixed(2)} s (${struckOnWave ? `${seenAtFault} wave episodes recorded so far` : 'no wave record seen in 20 s'})`);
    if (fault.dead !== null) live.delete(run.ids.indexOf(fault.dead));
    // Meanwhile: some come home late, some leave.
    const after: FixIn[] = [];
    ids.forEach((d, i) => {
      if (kinds[i] === 'late') after.push(fix(d, 2, deadline + 1000, home(i)));
      if (kinds[i] === 'leaver') after.push(fix(d, 2, deadline + 1000, away(i)));
    });
    const sending = streamUntilAcked(urls, after, acked, { per: 20, deadlineMs: 90_000 });
    await struck;
    const { total: takeoverSeconds, leases: leasesMovedSeconds } = await run.takeover(tFault, fault.dead);
    let handBackSeconds: number | null = null;
    if (fault.dead !== null && fault.restart === true) {
      const k = run.ids.indexOf(fault.dead);
      const t = Date.now();
      await run.restart(k);
      live.add(k);
      // The partitions the owners' rendezvous prefers for it come back to it (handed over).
      const want = new Set(Array.from({ length: run.keys.partitions }, (_, n) => n).filter((n) => preferredOwner(n, run.ids) === fault.dead));
      for (const end = t + 30_000; Date.now() < end;) {
        const leases = await run.leases();
        if (leases.every((l, n) => l !== null && want.has(n) === l.startsWith(`${fault.dead}/`))) {
          handBackSeconds = round3((Date.now() - t) / 1000);
          break;
        }
        await sleep(100);
      }
      log(`${o.name}: ${fault.dead} started again; its partitions back in ${handBackSeconds ?? 'more than 30'} s`);
    }
    await sending;

    const waveRecordedSeconds = await recordedP;
    const waveDeliveredSeconds = await deliveredP;
    // Anything raised late (a doubled episode) would show up now.
    await sleep(1000);
    rec = await events();

    // Per subject: its episodes, and the verdict.
    const bySubject = new Map<string, string[]>();
    for (const e of rec.episodes) bySubject.set(subjectOf(e), [...(bySubject.get(subjectOf(e)) ?? []), e]);
    let missedEpisodes = 0, doubleEpisodes = 0, falseEpisodes = 0;
    const missedIds: string[] = [];
    const samples: string[] = [];
    const sample = (s: string): void => void (samples.length < 12 && samples.push(s));
    ids.forEach((d) => {
      const s = `S-${d}`;
      const got = bySubject.get(s) ?? [];
      const want = expected.get(s);
      if (want === undefined) {
        if (got.length > 0) {
          falseEpisodes += got.length;
          sample(`${s} was home and got ${got.join(', ')}`);
        }
        return;
      }
      const wantEpisode = want[0].slice(0, want[0].lastIndexOf(':'));
      if (!got.includes(wantEpisode)) {
        missedEpisodes++;
        missedIds.push(s);
        sample(`${s} has no episode ${wantEpisode} (has ${got.join(', ') || 'none'})`);
      }
      if (got.length > 1) {
        doubleEpisodes++;
        sample(`${s} has ${got.length} episodes: ${got.join(', ')}`);
      }
    });
    // A missed subject: what its partition's snapshot knows of it (to tell a lost timer from a lost write).
    for (const sid of missedIds.slice(0, 3)) {
      const n = partitionOf(sid.slice(2), run.keys.partitions);
      const raw = await redis.get(run.keys.partition(n).snapshot).catch(() => null);
      const snap = raw === null ? null : (JSON.parse(raw) as { engine: { clockMs: number | null; subjects: { id: string }[]; timers: { subjectId: string; due: number; kind: number }[] } }).engine;
      const timers = snap?.timers.filter((x) => x.subjectId === sid).map((x) => `${x.kind}@${formatTime(x.due)}`) ?? [];
      sample(`${sid} (partition ${n}): snapshot clock ${snap?.clockMs == null ? 'none' : formatTime(snap.clockMs)}, subject ${snap?.subjects.some((x) => x.id === sid) === true ? 'in it' : 'not in it'}, timers [${timers.join(' ')}]`);
    }
    const undeliveredKeys = wantEvents.filter((k) => !deliveredKey(k));
    for (const k of undeliveredKeys.slice(0, 3)) sample(`${k} ${rec.keys.has(k) ? 'recorded but never delivered' : 'not recorded'}`);
    const missingEvents = wantEvents.filter((k) => !rec.keys.has(k));
    // The open-alerts set an officer's list reads: the episodes of those still out, and nothing else.
    const open = new Set(await redis.smembers(run.keys.openAll));
    const wantOpen = new Set(ids.flatMap((d, i) => (kinds[i] === 'out' ? [`S-${d}:c1:${formatTime(deadline)}`] : kinds[i] === 'leaver' ? [`S-${d}:c1:${formatTime(deadline + 1000)}`] : [])));
    const openWrong = [...wantOpen].filter((e) => !open.has(e)).length + [...open].filter((e) => !wantOpen.has(e)).length;
    if (openWrong > 0) sample(`open-alerts set: ${openWrong} wrong, e.g. ${[...open].filter((e) => !wantOpen.has(e)).slice(0, 2).join(', ')} listed, ${[...wantOpen].filter((e) => !open.has(e)).slice(0, 2).join(', ')} missing`);
    const wantSet = new Set(wantEvents);
    const unexpected = [...rec.keys].filter((k) => !wantSet.has(k));
    for (const k of unexpected.slice(0, 3)) sample(`unexpected event ${k}`);
    // Repeats: a key answered 2xx twice is a duplicate, unless its first 2xx fell in the crash
    // window (from 2 s before the fault until the takeover was complete).
    const windowEnd = tFault + (Number.isFinite(takeoverSeconds) ? takeoverSeconds : 60) * 1000;
    let duplicateDeliveries = 0, crashWindowRepeats = 0;
    for (const [key, c] of receiver.keys) {
      if (c.ok <= 1) continue;
      const first = c.okAt[0] ?? 0;
      if (first >= tFault - 2000 && first <= windowEnd) {
        crashWindowRepeats++;
        sample(`${key} delivered ${c.ok} times, at fault ${c.okAt.map((x) => ((x - tFault) / 1000).toFixed(2)).join(', ')} s (crash window)`);
      } else {
        duplicateDeliveries++;
        sample(`${key} delivered ${c.ok} times (first at fault ${((first - tFault) / 1000).toFixed(1)} s)`);
      }
    }

    // Every acked fix in its trail, once.
    let ackedLost = 0, trailDoubles = 0;
    for (let k = 0; k < N; k += 500) {
      const pipe = redis.pipeline();
      for (const d of ids.slice(k, k + 500)) pipe.xrange(run.keys.trail(d), '-', '+');
      const rows = (await pipe.exec()) ?? [];
      rows.forEach(([err, entries], j) => {
        const d = ids[k + j];
        const seqs = err ? [] : (entries as [string, string[]][]).map(([, fl]) => decodeFix(d, fl).seq);
        const have = new Set(seqs);
        trailDoubles += seqs.length - have.size;
        for (const s of [1, 2]) {
          if (acked.has(`${d}#${s}`) && !have.has(s)) {
            ackedLost++;
            sample(`acked ${d}#${s} not in the trail`);
          }
        }
      });
    }
    await fault.after?.();
    const count = (k: Kind): number => kinds.filter((x) => x === k).length;
    const s: CurfewScenario = {
      name: o.name, fixesSent: before.length + after.length, acked: acked.size, ackedLost, trailDoubles,
      doubleEpisodes, lateEpisodes: 0, duplicateDeliveries, undelivered: undeliveredKeys.length, takeoverSeconds, leasesMovedSeconds,
      seconds: (Date.now() - started) / 1000,
      curfew: {
        subjects: N, home: count('home'), out: count('out'), comeHomeLate: count('late'), leave: count('leaver'),
        windowStartLondon: `${startHHMM}–${endHHMM} Europe/London, every day`, windowStart: formatTime(windowStart), graceS,
        deadline: formatTime(deadline), timerWaitS: WAIT_S, fault: fault.what, faultPartitions: fault.partitions,
        faultAfterDeadlineS: Math.round(tFault - deadline) / 1000, waveRecordedAtFault: seenAtFault, handBackSeconds, unexpectedEvents: unexpected.length, openSetWrong: openWrong,
        expectedEpisodes: expected.size, recordedEpisodes: rec.episodes.length, missedEpisodes, falseEpisodes,
        expectedEvents: wantEvents.length, delivered: wantEvents.length - undeliveredKeys.length, crashWindowRepeats,
        waveRecordedSeconds: round3(waveRecordedSeconds), waveDeliveredSeconds: round3(waveDeliveredSeconds), samples,
      },
    };
    if (missingEvents.length > 0) s.curfew.samples.push(`${missingEvents.length} expected event(s) not recorded, e.g. ${missingEvents.slice(0, 3).join(', ')}`);
    log(`${o.name}: ${JSON.stringify(s)}`);
    if (s.undelivered > 0 || ackedLost > 0 || s.doubleEpisodes > 0 || missedEpisodes > 0 || falseEpisodes > 0 || unexpected.length > 0 || openWrong > 0) for (const [k, c] of run.instances.entries()) log(`--- ${run.ids[k]} output:\n${c.output().slice(-2500)}`);
    return s;
  } finally {
    await run.stop();
  }
}

/** The set-up took longer than its budget: the deadline passed before every subject was placed (the machine is too busy for the budget, not a fault of the service). */
export class SetupOverrun extends Error {}

const round3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);

/** The partitions whose log lives on each primary (port → partitions). */
export async function partitionsByPrimary(cluster: LocalCluster, keys: Keys): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  for (let n = 0; n < keys.partitions; n++) {
    const port = await primaryPortOf(cluster, keys.partition(n).log);
    out.set(port, [...(out.get(port) ?? []), n]);
  }
  return out;
}
