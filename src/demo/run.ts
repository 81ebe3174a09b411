#!/usr/bin/env node
/**
 * `npm run demo`: a simulated fleet of GPS tags in a UK city, streaming to a running service, with
 * the alerts it raises printed as they open and close. See HELP below (or `--help`).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { AlertEvent, AlertType } from '../engine/alert.js';
import { ApiClient, ApiRequestError, mapLimit, sleep, wsUrl } from './api-client.js';
import { formatAlert, Terminal } from './alert-view.js';
import { CITIES } from './city.js';
import type { FixInput } from '../engine/fix.js';
import { Fleet } from './fleet.js';
import { IngestSocket } from './ingest-socket.js';
import { startLocalService, type LocalService } from './local-service.js';
import { BREACH_ALERT, BREACH_STORY, buildScenario, type Person } from './scenario.js';
import { addHours, formatDuration, londonDateTime, londonHHMM, londonTime, SimClock } from './sim-clock.js';

const HELP = `npm run demo -- [options]

A simulated fleet of electronic-monitoring tags walking, cycling and driving around a UK city,
streamed to the iom-geofence service; the alerts it raises are printed as they open and close,
under a progress line, and fill the monitoring console.

Without --url (and IOM_URL unset) the demo starts everything itself: a Redis (the one on
127.0.0.1:6379 if it answers, else a private redis-server), the service with its delivery
workers on port 8080 (or a free one), and tokens made for this run only: an operator token and
one team token per demo team. It prints the console's address and the tokens, then runs rounds
of the fleet until Ctrl-C; at the end it stops the service and deletes the run's keys.
With --url it uses a running service (npm start) and an operator token (--token).

Each subject gets a curfew address (a circle, curfew from the simulated evening), most an
exclusion zone around a victim's address (a circle or a street block, with a 200 m warning
band), some a proximity condition to a victim who carries a device. A handful are scripted to
breach: walk into the exclusion zone, stay out past curfew, go looking for the victim, open the
strap, run the battery flat, shield the tag so it has no GPS fix. Everyone else behaves.

Options
  --url URL            a running service (default $IOM_URL; neither: start one, see above)
  --token TOKEN        with --url: operator token: creates zones and subjects, reads the alert
                       stream (default $IOM_TOKEN)
  --ingest-token TOKEN token for WS /v1/ingest (default: --token; operator may ingest)
  --port N             without --url: the port of the service started (default 8080, or a free one)
  --rounds N           without --url: rounds of the fleet, each a new population (default 0:
                       until Ctrl-C); the round before the last is removed as a new one starts
  --tags N             subjects, each wearing a tag (default 300); victims' devices come on top
  --minutes N          simulated minutes to run (default 120; without --url 60 per round)
  --speed X            simulated seconds per real second (default 60; without --url 30)
  --city NAME          ${Object.keys(CITIES).join(' | ')} (default leeds)
  --breaches N         subjects scripted to breach (default: 3 % of --tags, at least 6)
  --batch N            most fixes per ingest message (default 250; the service takes 1000)
  --seed N             the same seed gives the same people and the same breaches (default 1)
  --offline-after-s S  the service's settings.offlineAfterS (default 1800, the service default;
                       without --url the service started gets 86400)
  --keep               leave the zones and subjects in the service afterwards (default: delete;
                       without --url: keep the run's keys in Redis)
  --help               this text

Time. Fixes carry simulated time, one per tag per simulated minute. The service refuses a fix
stamped more than 30 s ahead of its own clock, so the simulation must never run ahead of real
time: it starts in the past, at now − minutes × (speed − 1) / speed, and catches up with the real
clock exactly as it ends. The curfew starts 55 % of the way through the run.
The service runs its timers (device_offline after offlineAfterS of silence, curfew deadlines) on
its own wall clock, which is ahead of the simulated one by up to minutes × (speed − 1) / speed.
When that lead exceeds offlineAfterS (e.g. the default 120 minutes at 60x: 118 minutes against
30), the service sees every tag as silent and opens device_offline for it, closed by the tag's
next fix. The demo counts those and does not print them. For a clean long run, start the
service with ENGINE_SETTINGS='{"offlineAfterS":86400}' and pass --offline-after-s 86400, or keep
minutes × (1 − 1/speed) under 30 (e.g. --minutes 30 --speed 600). Without --url the demo starts
its service so (and with timerWaitS and POSITION_STALE_S covering the lead).

Ctrl-C stops early (a second Ctrl-C quits at once); a summary follows either way.

Examples
  npm run demo                                    # everything, with the console's address printed
  API_TOKENS="demo-operator-token-123456=operator" PORT=18090 npm start &
  npm run demo -- --url http://127.0.0.1:18090 --token demo-operator-token-123456 --minutes 30 --speed 600
`;

interface Options {
  /** null: start a service here (no --url, no IOM_URL). */
  url: string | null;
  token: string;
  ingestToken: string;
  port: number;
  rounds: number;
  tags: number;
  minutes: number;
  speed: number;
  city: string;
  breaches: number;
  batch: number;
  seed: number;
  offlineAfterS: number;
  keep: boolean;
}

class UsageError extends Error {}

/** Without --url the service started here gets this offlineAfterS (see --help, "Time"). */
const SELF_OFFLINE_AFTER_S = 86_400;

function options(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' }, token: { type: 'string' }, 'ingest-token': { type: 'string' },
      port: { type: 'string' }, rounds: { type: 'string' },
      tags: { type: 'string' }, minutes: { type: 'string' }, speed: { type: 'string' }, city: { type: 'string' },
      breaches: { type: 'string' }, batch: { type: 'string' }, seed: { type: 'string' },
      'offline-after-s': { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return null;
  const num = (name: string, raw: string | undefined, dflt: number, min: number, max: number, integer = true): number => {
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return v;
  };
  const url = values.url ?? process.env.IOM_URL ?? null;
  if (url !== null) {
    try {
      new URL(url);
    } catch {
      throw new UsageError(`--url must be a URL like http://127.0.0.1:8080, got ${JSON.stringify(url)}`);
    }
  } else if (values.token !== undefined || values['ingest-token'] !== undefined) {
    throw new UsageError('--token is for a service already running: pass --url too (without --url the demo starts its own service and makes its own tokens)');
  }
  if (url !== null && (values.port !== undefined || values.rounds !== undefined)) throw new UsageError('--port and --rounds are for the service the demo starts itself: drop --url (and IOM_URL)');
  const token = url === null ? '' : values.token ?? process.env.IOM_TOKEN ?? '';
  if (url !== null && token === '') throw new UsageError('an operator token is needed with --url: --token TOKEN or IOM_TOKEN (npm start prints one when API_TOKENS is unset)');
  const tags = num('tags', values.tags, 300, 1, 100_000);
  const city = (values.city ?? 'leeds').toLowerCase();
  if (CITIES[city] === undefined) throw new UsageError(`--city must be one of ${Object.keys(CITIES).join(', ')}, got ${JSON.stringify(values.city)}`);
  const self = url === null;
  return {
    url, token, ingestToken: values['ingest-token'] ?? token, tags,
    port: num('port', values.port, 0, 1, 65_535),
    rounds: num('rounds', values.rounds, 0, 0, 1_000_000),
    minutes: num('minutes', values.minutes, self ? 60 : 120, 5, 1440),
    speed: num('speed', values.speed, self ? 30 : 60, 1, 100_000, false),
    city,
    breaches: num('breaches', values.breaches, Math.min(tags, Math.max(6, Math.round(tags * 0.03))), 0, tags),
    batch: num('batch', values.batch, 250, 1, 1000),
    seed: num('seed', values.seed, 1, 0, 2 ** 31),
    offlineAfterS: num('offline-after-s', values['offline-after-s'], self ? SELF_OFFLINE_AFTER_S : 1800, 1, 10 ** 9),
    keep: values.keep === true,
  };
}

/** Ctrl-C: the first stops the round (summary and clean-up follow), a second quits at once. */
const ctl = { stopping: false, interrupted: false };

async function main(): Promise<number> {
  let o: Options | null;
  try {
    o = options(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\nTry --help.\n`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(HELP);
    return 0;
  }
  process.on('SIGINT', () => {
    if (ctl.interrupted) process.exit(130);
    ctl.interrupted = true;
    ctl.stopping = true;
  });
  const term = new Terminal();
  if (o.url === null) return selfHosted(o, term);
  const api = new ApiClient(o.url, o.token);

  // --- is the service there, and does the token work? ----------------------------------------
  try {
    await api.get('/readyz');
  } catch (e) {
    const err = e as ApiRequestError;
    if (err.code === 'NETWORK') process.stderr.write(`demo: no service answers at ${o.url}. Start one (npm start), pass the right --url, or drop --url and IOM_URL to let the demo start one.\n`);
    else if (err.status === 401) process.stderr.write(`demo: the service at ${o.url} does not accept this token (${err.message}).\n`);
    else process.stderr.write(`demo: the service at ${o.url} is not ready: ${err.message}\n`);
    return 1;
  }
  return (await runRound(o, o.url, api, term, { seed: o.seed, keep: o.keep, self: false })).code;
}

/** The four teams of a demo city: by the quarter the subject lives in (scenario.ts). */
function teamsOf(city: string): string[] {
  return ['northwest', 'northeast', 'southwest', 'southeast'].map((q) => `iom-${city}-${q}`);
}

/**
 * No --url: start Redis, the service and its workers here with tokens for this run, print where
 * the console is, then run rounds of the fleet until Ctrl-C (or --rounds), each a new population;
 * the round before the last is removed as a new one starts, so the map shows the live round and
 * the one before it. At the end the service stops and the run's keys are deleted (--keep: kept).
 */
async function selfHosted(o: Options, term: Terminal): Promise<number> {
  const leadS = Math.ceil((o.minutes * 60 * (o.speed - 1)) / o.speed);
  const teams = teamsOf(o.city);
  term.line('starting Redis (if none answers on 127.0.0.1:6379), the service and its delivery worker ...');
  let svc: LocalService;
  try {
    svc = await startLocalService({
      port: o.port, teams,
      // Simulated time trails the service's clock by up to the lead: timers wait for it (a tag's
      // own next fix fires them in simulated time), a trailing fix is not "stale" for it, and
      // device_offline does not fire for tags that are still reporting (see --help, "Time").
      engineSettings: { offlineAfterS: o.offlineAfterS, timerWaitS: leadS + 60 },
      positionStaleS: leadS + 900,
    });
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    return 1;
  }
  const banner = (): void => {
    term.line('');
    term.line(term.paint(`Console: ${svc.url}/console  operator token: ${svc.operatorToken}`, 1));
    for (const [team, token] of svc.teamTokens) term.line(`  team token (${team}): ${token}`);
    term.line(term.paint('  (demo tokens: generated for this run only; they stop working when the demo stops)', 2));
    term.line(term.paint(`  service log: ${svc.logPath}`, 2));
    term.line('');
  };
  banner();
  const api = new ApiClient(svc.url, svc.operatorToken);
  const kept: RoundResult[] = [];
  let code = 0;
  for (let round = 1; !ctl.stopping && (o.rounds === 0 || round <= o.rounds); round++) {
    const stale = kept.length >= 2 ? kept.shift() : undefined;
    if (stale !== undefined) await cleanup(api, stale.subjects, stale.zones, term);
    if (round > 1) term.line(term.paint(`round ${round} (console ${svc.url}/console; Ctrl-C stops)`, 1));
    const r = await runRound({ ...o, token: svc.operatorToken, ingestToken: svc.operatorToken }, svc.url, api, term, { seed: o.seed + round - 1, keep: true, self: true });
    kept.push(r);
    if (r.code !== 0) {
      code = r.code;
      break;
    }
  }
  term.line(`stopping the service${o.keep ? ' (its keys stay in Redis: --keep)' : ' and deleting the run\'s keys'} ...`);
  await svc.stop(o.keep);
  return code;
}

interface RoundResult {
  code: number;
  subjects: object[];
  zones: object[];
}

/** One run of the fleet: set up the world, stream it for --minutes, summarise, remove it (unless keep). */
async function runRound(o: Options, url: string, api: ApiClient, term: Terminal, r: { seed: number; keep: boolean; self: boolean }): Promise<RoundResult> {
  // --- the world ------------------------------------------------------------------------------
  const prefix = `DEMO-${randomBytes(3).toString('hex')}`;
  const spanMs = o.minutes * 60_000;
  const clock = new SimClock(o.speed, spanMs);
  const curfewStartMs = Math.ceil((clock.startMs + spanMs * 0.55) / 60_000) * 60_000;
  const curfewLocalStart = londonHHMM(curfewStartMs);
  const scenario = buildScenario({
    prefix, city: o.city, tags: o.tags, breaches: o.breaches, seed: r.seed,
    simStartMs: clock.startMs, simEndMs: clock.endMs,
    curfewStartMs, curfewGraceS: 300, curfewLocalStart, curfewLocalEnd: addHours(curfewLocalStart, 9),
  });
  const fleet = new Fleet(scenario, r.seed);
  const scripted = new Map<string, Person>();
  for (const p of scenario.persons) if (p.script !== null) scripted.set(p.subjectId, p);
  const maxLeadS = (spanMs * (o.speed - 1)) / o.speed / 1000;

  term.line(`iom-geofence demo ${prefix}: ${o.tags} subjects + ${scenario.victims.length} victims' devices in ${scenario.city.name}, ${o.breaches} scripted to breach`);
  term.line(`  service ${url}; simulated ${londonDateTime(clock.startMs)} → ${londonTime(clock.endMs).slice(0, 5)} (${o.minutes} min at ${o.speed}x ≈ ${formatDuration(spanMs / o.speed)} real)`);
  term.line(`  curfew ${curfewLocalStart}–${addHours(curfewLocalStart, 9)} (grace 5 min); one fix per tag per simulated minute; fix times stay behind the real clock`);
  if (maxLeadS > o.offlineAfterS) {
    term.line(term.paint(`  note: the service's clock starts ${Math.round(maxLeadS / 60)} min ahead of simulated time, more than offlineAfterS (${o.offlineAfterS} s):`, 33));
    term.line(term.paint('        it will open device_offline for tags that are still reporting; those are counted, not printed (see --help, "Time")', 33));
  }

  // --- zones and subjects ---------------------------------------------------------------------
  const setupStarted = Date.now();
  try {
    for (let i = 0; i < scenario.zones.length; i += 2000) {
      const r = await api.post<{ accepted: number; rejected: { id: string | null; message: string }[] }>('/v1/zones', { type: 'FeatureCollection', features: scenario.zones.slice(i, i + 2000) });
      if (r.rejected.length > 0) throw new Error(`the service refused zone ${r.rejected[0]?.id ?? '?'}: ${r.rejected[0]?.message ?? ''}`);
    }
    await mapLimit(scenario.subjects, 16, (s) => api.put(`/v1/subjects/${encodeURIComponent((s as { id: string }).id)}`, s));
  } catch (e) {
    process.stderr.write(`demo: setting up the zones and subjects failed: ${(e as Error).message}\n`);
    await cleanup(api, scenario.subjects, scenario.zones, term).catch(() => undefined);
    return { code: 1, subjects: [], zones: [] };
  }
  term.line(`  created ${scenario.zones.length} zones and ${scenario.subjects.length} subjects in ${formatDuration(Date.now() - setupStarted)}`);
  term.line('');
  term.line(term.paint(['time    ', 'event  ', 'type'.padEnd(17), 'severity', 'confidence', 'subject'].join('  '), 2));

  // --- live alerts ----------------------------------------------------------------------------
  const open = new Map<string, AlertEvent>();
  const counts = new Map<AlertType, { opened: number; closed: number; updated: number }>();
  const firstSeen = new Map<string, AlertEvent>(); // subjectId:type → first opened event
  let suppressedOffline = 0;
  const suppressed = new Set<string>();
  const onAlert = (e: AlertEvent): void => {
    if (!e.subjectId.startsWith(`${prefix}-`)) return;
    const c = counts.get(e.type) ?? { opened: 0, closed: 0, updated: 0 };
    counts.set(e.type, c);
    c[e.event]++;
    if (e.event === 'opened') open.set(e.episodeId, e);
    else if (e.event === 'closed') open.delete(e.episodeId);
    if (e.event === 'opened' && !firstSeen.has(`${e.subjectId}:${e.type}`)) firstSeen.set(`${e.subjectId}:${e.type}`, e);
    // device_offline for a tag that is still reporting: the service's clock is ahead of ours.
    if (e.type === 'device_offline' && !fleet.silenced.has(e.deviceId)) {
      if (e.event === 'opened') suppressedOffline++;
      suppressed.add(e.episodeId);
    }
    if (suppressed.has(e.episodeId)) return;
    const p = scripted.get(e.subjectId);
    const note = p?.script == null ? '' : `scripted: ${BREACH_STORY[p.script.kind]}`;
    term.line(formatAlert(e, term, note));
  };
  const stream = new WebSocket(wsUrl(url, '/v1/alerts/stream'), { headers: { authorization: `Bearer ${o.token}` } });
  stream.on('message', (data) => {
    try {
      onAlert(JSON.parse(data.toString()) as AlertEvent);
    } catch {
      // not an alert: ignore
    }
  });
  stream.on('error', (e) => term.line(`alert stream: ${e.message}`));
  await new Promise<void>((resolve) => {
    stream.once('open', () => resolve());
    stream.once('error', () => resolve());
  });

  // --- ingest ---------------------------------------------------------------------------------
  let problems = 0;
  const ingest = new IngestSocket(url, o.ingestToken, (text) => {
    if (++problems <= 10) term.line(term.paint(`  ! ${text}`, 31));
    else if (problems === 11) term.line(term.paint('  ! (further problems are counted, not printed)', 31));
  });
  try {
    await ingest.open();
  } catch (e) {
    process.stderr.write(`demo: cannot open the ingest WebSocket: ${(e as Error).message}\n`);
    stream.close();
    if (!r.keep) await cleanup(api, scenario.subjects, scenario.zones, term).catch(() => undefined);
    return { code: 1, subjects: scenario.subjects, zones: scenario.zones };
  }

  let stopping = false;
  const started = Date.now();
  const buffer: FixInput[] = [];
  const rateWindow: [number, number][] = [];
  let lastProgress = 0;
  const progress = (force = false): void => {
    const now = Date.now();
    if (!force && now - lastProgress < 250) return;
    lastProgress = now;
    const s = ingest.stats;
    rateWindow.push([now, s.ackedFixes]);
    while (rateWindow.length > 2 && now - (rateWindow[0] as [number, number])[0] > 3000) rateWindow.shift();
    const [t0, a0] = rateWindow[0] as [number, number];
    const rate = now > t0 ? ((s.ackedFixes - a0) * 1000) / (now - t0) : 0;
    const recent = [...s.recentAckMs].sort((a, b) => a - b);
    const p50 = recent.length === 0 ? NaN : (recent[Math.floor(recent.length / 2)] as number);
    const simMin = Math.floor((clock.now - clock.startMs) / 60_000);
    const openShown = [...open.keys()].filter((id) => !suppressed.has(id)).length;
    term.progress(
      `sim ${londonTime(clock.now).slice(0, 5)} (${simMin}/${o.minutes} min, ${o.speed}x) | fixes sent ${s.sentFixes.toLocaleString('en-GB')}, acked ${s.ackedFixes.toLocaleString('en-GB')}` +
      ` | open alerts ${openShown} | ${Math.round(rate).toLocaleString('en-GB')} fixes/s, ack ${Number.isNaN(p50) ? '–' : `${p50.toFixed(0)} ms`}` +
      (clock.held ? ' | waiting for acks' : ''),
      force,
    );
  };

  // Simulation loop: every 100 ms of real time, move the clock on and send what is due.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (!ingest.isOpen) {
        term.line(term.paint(`ingest connection lost: ${ingest.closedReason ?? 'closed'}`, 31));
        stopping = true;
      }
      if (stopping || ctl.stopping) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Hold the clock while the service is behind: never flood it, never skip time.
      clock.held = ingest.inFlight >= 12;
      clock.tick();
      if (!clock.held) {
        fleet.advance(clock.now, buffer);
        for (let i = 0; i < buffer.length; i += o.batch) ingest.send(buffer.slice(i, i + o.batch));
        buffer.length = 0;
      }
      progress();
      if (clock.done) {
        stopping = true;
      }
    }, 100);
  });

  const drained = await ingest.drain(30_000);
  // Alerts are published right after the write that acks their fix; give the stream a moment.
  await sleep(1500);
  progress(true);
  term.endProgress();
  ingest.close();
  stream.close();

  // --- summary --------------------------------------------------------------------------------
  const s = ingest.stats;
  const realMs = Date.now() - started;
  const simulatedMin = Math.round((clock.now - clock.startMs) / 60_000);
  const lines: string[] = [''];
  lines.push(`Summary ${prefix}${ctl.interrupted ? ' (stopped early)' : ''}: ${simulatedMin} simulated minutes in ${formatDuration(realMs)}, ${fleet.deviceCount} devices`);
  lines.push(`  fixes: sent ${s.sentFixes.toLocaleString('en-GB')}, acked ${s.ackedFixes.toLocaleString('en-GB')}, refused ${s.refusedFixes}, not recorded ${s.nackedFixes}${drained ? '' : `, ${ingest.inFlight} messages unanswered`}`);
  const byType = [...counts.entries()].sort((a, b) => b[1].opened - a[1].opened);
  const totalOpened = byType.reduce((n, [, c]) => n + c.opened, 0);
  const openNow = [...open.keys()].filter((id) => !suppressed.has(id)).length;
  lines.push(`  alert episodes opened: ${totalOpened}${suppressedOffline > 0 ? ` (${suppressedOffline} of them device_offline because the service's clock runs ahead of simulated time; not printed)` : ''}; open now: ${openNow}`);
  for (const [type, c] of byType) lines.push(`    ${type.padEnd(18)} opened ${String(c.opened).padStart(5)}  updated ${String(c.updated).padStart(4)}  closed ${String(c.closed).padStart(5)}`);
  if (scripted.size > 0) {
    let caught = 0;
    const rows: string[] = [];
    for (const p of scripted.values()) {
      const script = p.script as NonNullable<Person['script']>;
      const want = BREACH_ALERT[script.kind];
      const seen = firstSeen.get(`${p.subjectId}:${want}`);
      const due = script.kind === 'curfew' ? curfewStartMs + 300_000 : script.atMs;
      if (seen !== undefined) caught++;
      const status = seen !== undefined ? term.paint(`✓ ${want} opened at ${londonTime(Date.parse(seen.at))}`, 32)
        : due > clock.now ? term.paint(`– not reached (due ${londonTime(due)})`, 2) : term.paint(`✗ no ${want} alert`, 31);
      rows.push(`    ${p.subjectId}  ${BREACH_STORY[script.kind].padEnd(44)} from ${londonTime(script.kind === 'curfew' ? due : script.atMs).slice(0, 5)}  ${status}`);
    }
    lines.push(`  scripted breaches: ${scripted.size}, alerted ${caught}`);
    lines.push(...rows);
  }
  if (problems > 0) lines.push(`  problems reported by the service: ${problems}`);
  for (const l of lines) term.line(l);

  if (!r.keep) {
    term.line(`  removing the demo's ${scenario.subjects.length} subjects and ${scenario.zones.length} zones (open episodes close as their subject goes; --keep to leave them)`);
    await cleanup(api, scenario.subjects, scenario.zones, term);
  } else if (!r.self) {
    term.line(`  left in the service: subjects and zones ${prefix}-* (GET ${url}/v1/alerts to see the episodes)`);
  }
  return { code: 0, subjects: scenario.subjects, zones: scenario.zones };
}

async function cleanup(api: ApiClient, subjects: object[], zones: object[], term: Terminal): Promise<void> {
  const quiet = async (path: string): Promise<void> => {
    try {
      await api.delete(path);
    } catch (e) {
      if ((e as ApiRequestError).status !== 404) throw e;
    }
  };
  try {
    await mapLimit(subjects, 16, (s) => quiet(`/v1/subjects/${encodeURIComponent((s as { id: string }).id)}`));
    await mapLimit(zones, 16, (z) => quiet(`/v1/zones/${encodeURIComponent((z as { id: string }).id)}`));
  } catch (e) {
    term.line(`  cleanup failed: ${(e as Error).message}`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`demo failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
