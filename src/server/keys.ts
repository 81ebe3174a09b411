/**
 * Every Redis key the service uses, built in one place (BullMQ's habit). `p` is the prefix,
 * so tests and several deployments can share one Redis.
 */
export class Keys {
  /**
   * `partitions`: how many engine partitions the store is split into (PARTITIONS, see
   * docs/scaling.md). With 1 (the default) the partition keys are the historical `<p>:log`,
   * `<p>:snapshot`, `<p>:outbox`.
   */
  constructor(readonly p: string, readonly partitions = 1) {
    if (!Number.isInteger(partitions) || partitions < 1) throw new Error(`partitions must be an integer >= 1, got ${partitions}`);
  }

  /**
   * The keys of one partition, under one Redis Cluster hash tag (`{<prefix>:p<n>}` when there
   * are several partitions) so that a partition's commit is one script in one slot.
   */
  partition(n: number): PartitionKeys {
    let pk = this.cache[n];
    if (pk === undefined) {
      const base = this.partitions === 1 ? this.p : `{${this.p.replace(/[{}]/g, '')}:p${n}}`;
      pk = {
        n,
        log: `${base}:log`,
        snapshot: `${base}:snapshot`,
        outbox: `${base}:outbox`,
        inbox: `${base}:inbox`,
        lease: `${base}:lease`,
        fence: `${base}:fence`,
        status: `${base}:status`,
      };
      this.cache[n] = pk;
    }
    return pk;
  }

  private readonly cache: PartitionKeys[] = [];

  /**
   * Every partition's input-log stream, partition 0 first: the one list a follower of the log
   * (the archive copier) iterates. With PARTITIONS=1 it is `[keys.log]`.
   */
  logs(): string[] {
    const out: string[] = [];
    for (let n = 0; n < this.partitions; n++) out.push(this.partition(n).log);
    return out;
  }

  /** sorted set: live service instances (member: INSTANCE_ID), scored by heartbeat expiry (ms) */
  get instances(): string { return `${this.p}:instances`; }
  /** stream: configuration changes (ids of zones, subjects, devices changed), for the other instances */
  get configLog(): string { return `${this.p}:config-log`; }
  /** hash: zone id → GeoJSON Feature */
  get zones(): string { return `${this.p}:zones`; }
  /** hash: subject id → subject JSON (as accepted) */
  get subjects(): string { return `${this.p}:subjects`; }
  /** stream: partition 0's input log since its snapshot (the whole engine's with PARTITIONS=1); see logs() */
  get log(): string { return this.partition(0).log; }
  /** string: partition 0's engine snapshot and the log id it includes */
  get snapshot(): string { return this.partition(0).snapshot; }
  /** stream per device: its accepted fixes (the trail) */
  trail(deviceId: string): string { return `${this.p}:trail:${deviceId}`; }
  /**
   * list per device: its assignment history, oldest first, JSON {role: "subject"|"victim"|"none",
   * subjectId?, from}; `from` is the last trail stream id before the assignment (device-assignments.ts)
   */
  deviceAssignments(deviceId: string): string { return `${this.p}:device:${deviceId}:assignments`; }
  /** set per subject: every device it has worn (its trail may span them) */
  subjectDevices(subjectId: string): string { return `${this.p}:subject:${subjectId}:devices`; }
  /** set: devices with a trail (for retention sweeps) */
  get trailDevices(): string { return `${this.p}:trail-devices`; }
  /** hash per episode: opened/updated/closed event JSON, ack */
  alert(episodeId: string): string { return `${this.p}:alert:${episodeId}`; }
  /** list per episode: its decisions (acknowledgements), append-only, oldest first */
  alertDecisions(episodeId: string): string { return `${this.p}:alert:${episodeId}:acks`; }
  /** sorted set: episode ids by opening time, all teams / one team */
  get alertsAll(): string { return `${this.p}:alerts`; }
  alertsOfTeam(team: string): string { return `${this.p}:alerts:team:${team}`; }
  /** set: open episode ids, all teams / one team */
  get openAll(): string { return `${this.p}:alerts:open`; }
  openOfTeam(team: string): string { return `${this.p}:alerts:open:${team}`; }
  /** list: partition 0's alert events committed but not yet handed to the queue (outbox) */
  get outbox(): string { return this.partition(0).outbox; }
  /** pub/sub channel: committed alert events, for the live stream */
  get live(): string { return `${this.p}:live`; }
  /** hash: team id → delivery config (webhooks, escalation) */
  get teams(): string { return `${this.p}:teams`; }
  /** marker: this idempotency key was delivered on this channel */
  delivered(key: string, channel: string): string { return `${this.p}:delivered:${channel}:${key}`; }
  /** sorted set: dead-lettered deliveries (JSON), by time */
  get deadLetters(): string { return `${this.p}:dead-letters`; }
  /** stream: the audit log (who changed or read what) */
  get audit(): string { return `${this.p}:audit`; }
  /** hash: device id → device register entry (kind, status…) */
  get devices(): string { return `${this.p}:devices`; }
  /**
   * Base of a collection's list indexes (list-index.ts): `<base>:all`, `<base>:facets`,
   * `<base>:search` and one sorted set per filter value `<base>:<field>:<value>`.
   * Collections: `subjects`, `zones`, `devices`, `alerts`.
   */
  listIndex(collection: 'subjects' | 'zones' | 'devices' | 'alerts'): string { return `${this.p}:ix:${collection}`; }
  /** string: the version of the list indexes built from the stored records (index-migration.ts) */
  get listIndexVersion(): string { return `${this.p}:ix:version`; }
  /**
   * stream: what the archive copies besides fixes (alert events, decisions, configuration
   * changes), written in the same MULTI as the change itself, only while the archive is on;
   * trimmed by the archive worker once copied (src/archive/feed.ts).
   */
  get archiveFeed(): string { return `${this.p}:archive:feed`; }
  /** string: the newest ingest-log id the archive has copied (the consumer-aware log trim reads it) */
  get archiveLogCursor(): string { return `${this.p}:archive:log-cursor`; }
  /** string: set when the log's bound dropped entries: the first id kept (what lies before it and after the cursor is lost) */
  get archiveLogLost(): string { return `${this.p}:archive:log-lost-before`; }
  /** BullMQ prefix for the alert queue */
  get bull(): string { return `${this.p}:bull`; }
}

/** The keys of one engine partition (Keys.partition), all in one Redis Cluster slot. */
export interface PartitionKeys {
  readonly n: number;
  /** stream: the partition's input log since its snapshot (fix batches and clock ticks) */
  readonly log: string;
  /** string: the partition engine's snapshot and the log id it includes */
  readonly snapshot: string;
  /** list: alert events committed but not yet handed to the queue */
  readonly outbox: string;
  /** stream: fixes accepted by an instance that does not own the partition, for the owner */
  readonly inbox: string;
  /** string: the owner's lease, `<instanceId>|<fencing token>`, with a PX expiry */
  readonly lease: string;
  /** integer: the last fencing token handed out */
  readonly fence: string;
  /** string: the owner's document of its devices' live state, for the other instances (status-board.ts) */
  readonly status: string;
}
