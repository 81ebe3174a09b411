import type { Redis } from 'ioredis';
import type { Severity } from '../engine/alert.js';
import type { DeviceStatus, Engine } from '../engine/engine.js';

/**
 * The live state of devices whose partition another instance owns (issue 15: a console behind a
 * load balancer may ask any instance). Each instance writes, every STATUS_PUBLISH_MS, one small
 * document per partition it owns (`{<prefix>:p<n>}:status`, with an expiry so a dead owner's
 * goes away): for each device heard from or with an episode open, when it was last heard, its
 * battery and strap, its latest position fix and its open episodes. An instance answering a
 * console read fetches the documents of the partitions it does not own (at most once per half
 * interval) and lays them over its own configuration-only view of those devices. Nothing is
 * written while one instance owns everything (the `npm start` default costs nothing).
 *
 * A document is at most one interval old; positions and ops figures from other instances lag
 * by that much. Victim units' positions are carried like any device's: the routes that show
 * positions filter them exactly as they do for local ones.
 */

/** One device's live fields: id, lastHeardMs|null, battery|null, strap|null, fix ts|null, lat, lon, accuracy|null, open episodes, max severity|null. */
type Row = [string, number | null, number | null, DeviceStatus['strap'], number | null, number, number, number | null, number, Severity | null];

interface Doc {
  /** When it was written (instance clock, epoch ms). */
  at: number;
  devices: Row[];
}

/** The live fields of one partition's devices, as a document (what `publish` writes). */
export function encodeStatuses(engine: Pick<Engine, 'eachDeviceStatus'>, at: number): string {
  const devices: Row[] = [];
  engine.eachDeviceStatus((s) => {
    if (s.lastHeardMs === -Infinity && s.lastFix === null && s.openAlerts === 0) return;
    const f = s.lastFix;
    devices.push([
      s.deviceId,
      s.lastHeardMs === -Infinity ? null : s.lastHeardMs,
      s.battery === s.battery ? s.battery : null,
      s.strap,
      f === null ? null : f.tsMs,
      f === null ? 0 : f.lat,
      f === null ? 0 : f.lon,
      f === null || f.accuracy !== f.accuracy ? null : f.accuracy,
      s.openAlerts,
      s.maxSeverity,
    ]);
  });
  return JSON.stringify({ at, devices } satisfies Doc);
}

/** Live fields by device id, from a document (unreadable: empty). */
export function decodeStatuses(text: string): Map<string, Row> {
  const out = new Map<string, Row>();
  let doc: Doc;
  try {
    doc = JSON.parse(text) as Doc;
  } catch {
    return out;
  }
  if (!Array.isArray(doc.devices)) return out;
  for (const r of doc.devices) if (Array.isArray(r) && typeof r[0] === 'string') out.set(r[0], r);
  return out;
}

/** Lays a device's published live fields over its configuration-only status (in place). */
export function overlay(s: DeviceStatus, r: Row): DeviceStatus {
  s.lastHeardMs = r[1] ?? -Infinity;
  s.battery = r[2] ?? NaN;
  s.strap = r[3];
  s.lastFix = r[4] === null ? null : { tsMs: r[4], lat: r[5], lon: r[6], accuracy: r[7] ?? NaN };
  s.openAlerts = r[8];
  s.maxSeverity = r[9];
  return s;
}

export interface StatusBoardOptions {
  redis: Redis;
  /** The status key of partition n. */
  keyOf(n: number): string;
  /** STATUS_PUBLISH_MS. */
  intervalMs: number;
  now(): number;
}

/** Writes the owned partitions' documents and reads the others' (see the file comment). */
export class StatusBoard {
  private readonly remote = new Map<number, Map<string, Row>>();
  private fetchedAt = -Infinity;
  private fetching: Promise<void> | null = null;

  constructor(private readonly o: StatusBoardOptions) {}

  /** Writes one document per owned partition (expiring after a few intervals). */
  async publish(owned: ReadonlyArray<{ n: number; engine: Pick<Engine, 'eachDeviceStatus'> }>): Promise<void> {
    const at = this.o.now();
    const ttl = this.o.intervalMs * 3 + 1000;
    await Promise.all(owned.map(({ n, engine }) => this.o.redis.set(this.o.keyOf(n), encodeStatuses(engine, at), 'PX', ttl)));
  }

  /** Fetches the documents of `partitions` (those owned elsewhere) unless fetched within half an interval. */
  refresh(partitions: readonly number[]): Promise<void> {
    if (this.fetching !== null) return this.fetching;
    if (this.o.now() - this.fetchedAt < this.o.intervalMs / 2) return Promise.resolve();
    this.fetching = (async () => {
      const texts = await Promise.all(partitions.map((n) => this.o.redis.get(this.o.keyOf(n))));
      this.remote.clear();
      partitions.forEach((n, i) => {
        const t = texts[i];
        if (t !== null) this.remote.set(n, decodeStatuses(t));
      });
      this.fetchedAt = this.o.now();
    })().finally(() => (this.fetching = null));
    return this.fetching;
  }

  /** The published live fields of a device in partition n, if another instance published them. */
  row(n: number, deviceId: string): Row | undefined {
    return this.remote.get(n)?.get(deviceId);
  }

  /** Forgets what was fetched of partition n (it is owned here now). */
  forget(n: number): void {
    this.remote.delete(n);
  }
}
