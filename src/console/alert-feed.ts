import { api, ApiFailure, q } from './api.js';
import { SEVERITY_RANK } from './format.js';
import { session } from './session.js';
import type { Alert, AlertEventMsg, AlertPage } from './types.js';

/**
 * The open alerts the console knows, kept live: loaded page by page from GET /v1/alerts, then
 * kept current by the alert stream (WebSocket /v1/alerts/stream, the token offered as the
 * `bearer` subprotocol, never in the URL). While the stream is unavailable the first page is
 * polled every second, and the whole list every 30 s, so nothing is missed either way.
 */
export type FeedMode = 'connecting' | 'live' | 'polling';

export class AlertFeed {
  readonly open = new Map<string, Alert>();
  mode: FeedMode = 'connecting';
  loaded = false;
  private ws: WebSocket | null = null;
  private listeners = new Set<() => void>();
  private criticalListeners = new Set<(a: Alert) => void>();
  private pollTimer: number | null = null;
  private fullTimer: number | null = null;
  private retryMs = 1000;
  private stopped = false;
  private notifyQueued = false;
  /** When each episode was first seen by this tab (ms, performance clock): for the tests' latency figure. */
  readonly firstSeen = new Map<string, number>();

  async start(): Promise<void> {
    await this.loadAll();
    this.connect();
    this.fullTimer = window.setInterval(() => void this.loadAll().catch(() => undefined), 30_000);
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    if (this.fullTimer !== null) clearInterval(this.fullTimer);
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onCritical(fn: (a: Alert) => void): () => void {
    this.criticalListeners.add(fn);
    return () => this.criticalListeners.delete(fn);
  }

  /** Open alerts, critical first, then oldest first. */
  sorted(): Alert[] {
    return [...this.open.values()].sort(compareAlerts);
  }

  /** Replaces one alert's record (after a claim or a decision). */
  put(a: Alert): void {
    if (a.state === 'open') this.open.set(a.episodeId, a);
    else this.open.delete(a.episodeId);
    this.notify();
  }

  private notify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    requestAnimationFrame(() => {
      this.notifyQueued = false;
      for (const l of this.listeners) l();
    });
  }

  /** Every open alert (at most 20,000), replacing what is held. */
  private async loadAll(): Promise<void> {
    const next = new Map<string, Alert>();
    let cursor: string | null = null;
    const first = !this.loaded;
    for (let i = 0; i < 20; i++) {
      const page: AlertPage = await api<AlertPage>('GET', `/v1/alerts${q({ state: 'open', limit: 1000, cursor })}`);
      for (const a of page.alerts) {
        next.set(a.episodeId, a);
        // The first load shows each page as it comes, so the queue is usable at once.
        if (first) this.open.set(a.episodeId, a);
      }
      if (first) this.notify();
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    this.open.clear();
    for (const [k, v] of next) {
      this.open.set(k, v);
      if (!this.firstSeen.has(k)) this.firstSeen.set(k, performance.now());
      if (!first) this.maybeSignal(v, false);
    }
    this.loaded = true;
    this.notify();
  }

  /** The newest open alerts (polling while the stream is down). */
  private async pollNewest(): Promise<void> {
    const page = await api<AlertPage>('GET', `/v1/alerts${q({ state: 'open', limit: 200 })}`);
    let changed = false;
    for (const a of page.alerts) {
      if (!this.open.has(a.episodeId)) {
        this.open.set(a.episodeId, a);
        this.firstSeen.set(a.episodeId, performance.now());
        this.maybeSignal(a, true);
        changed = true;
      }
    }
    if (changed) this.notify();
  }

  private signalled = new Set<string>();
  private maybeSignal(a: Alert, fresh: boolean): void {
    if (!fresh || a.severity !== 'critical' || this.signalled.has(a.episodeId)) return;
    this.signalled.add(a.episodeId);
    for (const l of this.criticalListeners) l(a);
  }

  private connect(): void {
    if (this.stopped) return;
    const token = session()?.token;
    if (token === undefined) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/alerts/stream`;
    let opened = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, ['bearer', token]);
    } catch {
      this.fallBack();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.retryMs = 1000;
      this.mode = 'live';
      if (this.pollTimer !== null) {
        clearInterval(this.pollTimer);
        this.pollTimer = null;
      }
      // Catch anything that opened while the stream was down.
      void this.loadAll().catch(() => undefined);
      this.notify();
    };
    ws.onmessage = (m) => this.onMessage(String(m.data));
    ws.onclose = () => {
      this.ws = null;
      if (this.stopped) return;
      this.fallBack();
      // The stream is retried, slower each time it fails before opening.
      this.retryMs = opened ? 1000 : Math.min(this.retryMs * 2, 60_000);
      window.setTimeout(() => this.connect(), this.retryMs);
    };
  }

  private fallBack(): void {
    if (this.mode !== 'polling') {
      this.mode = 'polling';
      this.notify();
    }
    if (this.pollTimer === null) {
      this.pollTimer = window.setInterval(() => {
        this.pollNewest().catch((e: unknown) => {
          if (e instanceof ApiFailure && e.status === 401) this.stop();
        });
      }, 1000);
    }
  }

  private onMessage(text: string): void {
    let e: AlertEventMsg;
    try {
      e = JSON.parse(text) as AlertEventMsg;
    } catch {
      return;
    }
    if (typeof e.episodeId !== 'string' || typeof e.event !== 'string') return;
    const had = this.open.get(e.episodeId);
    if (e.event === 'closed') {
      if (this.open.delete(e.episodeId)) this.notify();
      return;
    }
    const a: Alert = {
      ...(had ?? {}),
      episodeId: e.episodeId, type: e.type, severity: e.severity, confidence: e.confidence, state: 'open',
      subjectId: e.subjectId, deviceId: e.deviceId, team: e.team, openedAt: had?.openedAt ?? e.at, late: e.late,
      ...(e.conditionId === undefined ? {} : { conditionId: e.conditionId }),
      ...(e.zoneId === undefined ? {} : { zoneId: e.zoneId }),
    };
    this.open.set(e.episodeId, a);
    if (!this.firstSeen.has(e.episodeId)) this.firstSeen.set(e.episodeId, performance.now());
    if (had === undefined || had.severity !== 'critical') this.maybeSignal(a, true);
    this.notify();
  }
}

export function compareAlerts(a: Alert, b: Alert): number {
  const s = SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity];
  if (s !== 0) return s;
  if (a.openedAt !== b.openedAt) return a.openedAt < b.openedAt ? -1 : 1;
  return a.episodeId < b.episodeId ? -1 : a.episodeId > b.episodeId ? 1 : 0;
}
