import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertEvent } from '../engine/alert.js';

/** Prometheus metrics, one registry per service instance (tests run several in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly fixesReceived = new Counter({ name: 'iom_fixes_received_total', help: 'Fixes received over ingest', registers: [this.registry] });
  readonly fixesAccepted = new Counter({ name: 'iom_fixes_accepted_total', help: 'Fixes durably recorded and acknowledged', registers: [this.registry] });
  readonly fixesRejected = new Counter({ name: 'iom_fixes_rejected_total', help: 'Fixes refused, by the field at fault', labelNames: ['reason'], registers: [this.registry] });
  readonly evaluationSeconds = new Histogram({
    name: 'iom_fix_evaluation_seconds', help: 'Engine time per fix (batch average)', registers: [this.registry],
    buckets: [1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 1e-3],
  });
  readonly ingestLagSeconds = new Histogram({
    name: 'iom_ingest_lag_seconds', help: 'Arrival time minus fix time', registers: [this.registry],
    buckets: [0.1, 0.5, 1, 5, 30, 60, 300, 3600, 86400],
  });
  readonly alerts = new Counter({ name: 'iom_alerts_total', help: 'Alert events committed', labelNames: ['type', 'event'], registers: [this.registry] });
  readonly redisSeconds = new Histogram({
    name: 'iom_redis_commit_seconds', help: 'Redis MULTI/EXEC time per group commit', registers: [this.registry],
    buckets: [1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1],
  });

  readonly archiveLogDropped = new Counter({ name: 'iom_archive_log_dropped_total', help: 'Ingest-log entries dropped by ARCHIVE_LOG_MAX_ENTRIES before the archive copied them', registers: [this.registry] });
  /** Read on scrape: ingest-log entries held (with the archive on: mostly what it has not copied yet). */
  private logLengthSource: () => Promise<number> = async () => 0;
  readonly ingestLogLength = new Gauge({
    name: 'iom_ingest_log_entries', help: 'Entries in the ingest log (with the archive on, it keeps what the archive has not copied)', registers: [this.registry],
    collect: async () => {
      this.ingestLogLength.set(await this.logLengthSource().catch(() => NaN));
    },
  });

  /** Where the ingest-log length gauge reads from. */
  logLength(source: () => Promise<number>): void {
    this.logLengthSource = source;
  }

  /** Read on scrape: deliveries whose retries ran out (the dead-letter set in Redis). */
  private deadLetterSource: () => Promise<number> = async () => 0;
  readonly deadLetters = new Gauge({
    name: 'iom_deliveries_dead_letters', help: 'Alert deliveries dead-lettered (retries used up), in the dead-letter set', registers: [this.registry],
    collect: async () => {
      this.deadLetters.set(await this.deadLetterSource().catch(() => NaN));
    },
  });
  readonly outboxLength = new Gauge({
    name: 'iom_alert_outbox_length', help: 'Alert events committed but not yet handed to the queue', registers: [this.registry],
    collect: async () => {
      this.outboxLength.set(await this.outboxSource().catch(() => NaN));
    },
  });
  private outboxSource: () => Promise<number> = async () => 0;

  /** Fixes accepted per second, service-wide and per team, over the last seconds (GET /v1/ops/summary). */
  readonly fixRate = new FixRate(10);

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'iom_' });
  }

  /** Where the scrape-time gauges read from (Redis). */
  sources(deadLetters: () => Promise<number>, outbox: () => Promise<number>): void {
    this.deadLetterSource = deadLetters;
    this.outboxSource = outbox;
  }

  observeRedisSeconds(s: number): void {
    this.redisSeconds.observe(s);
  }

  observeAlert(e: AlertEvent): void {
    this.alerts.inc({ type: e.type, event: e.event });
  }
}

/**
 * Fixes accepted per second over the last `windowS` seconds, service-wide and per team: one
 * ring of per-second counts each (a slot remembers which second it counts, so a quiet spell
 * needs no clean-up pass). O(1) per record; a team seen once keeps a ring of windowS numbers.
 */
export class FixRate {
  private readonly all: Ring;
  private readonly teams = new Map<string, Ring>();

  constructor(readonly windowS: number) {
    this.all = new Ring(windowS);
  }

  /** `n` fixes accepted at `nowMs` (every device, victim units included). */
  recordTotal(n: number, nowMs: number): void {
    this.all.add(Math.floor(nowMs / 1000), n);
  }

  /** `n` of them from devices worn by `team`'s subjects. */
  recordTeam(team: string, n: number, nowMs: number): void {
    let r = this.teams.get(team);
    if (r === undefined) {
      r = new Ring(this.windowS);
      this.teams.set(team, r);
    }
    r.add(Math.floor(nowMs / 1000), n);
  }

  /** The average rate over the window ending now (the current second counts as a whole one). */
  perSecond(team: string | null, nowMs: number): number {
    const r = team === null ? this.all : this.teams.get(team);
    return r === undefined ? 0 : r.sum(Math.floor(nowMs / 1000)) / this.windowS;
  }
}

class Ring {
  private readonly secs: Float64Array;
  private readonly counts: Float64Array;

  constructor(private readonly n: number) {
    this.secs = new Float64Array(n).fill(-1);
    this.counts = new Float64Array(n);
  }

  add(sec: number, k: number): void {
    const i = sec % this.n;
    if (this.secs[i] !== sec) {
      this.secs[i] = sec;
      this.counts[i] = 0;
    }
    this.counts[i] += k;
  }

  /** Counts of the seconds in (nowSec - n, nowSec]. */
  sum(nowSec: number): number {
    let total = 0;
    for (let i = 0; i < this.n; i++) if (this.secs[i] > nowSec - this.n && this.secs[i] <= nowSec) total += this.counts[i];
    return total;
  }
}
