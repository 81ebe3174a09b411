/**
 * A live alert stream client (WS /v1/alerts/stream, operator token: every team). It reconnects
 * when the service goes away. The README promises each key once per stream connection (the API
 * process drops a repeat by key); across reconnections nothing can be promised (the stream has no
 * resume point), so repeats are counted both ways and only the first is a failure.
 */
import { WebSocket, type RawData } from 'ws';

export class AlertStream {
  /** key → times seen over all connections */
  readonly seen = new Map<string, number>();
  /** Keys seen twice on one connection (the promise broken). */
  readonly dupWithinConnection: string[] = [];
  connections = 0;
  messages = 0;
  private ws: WebSocket | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private opened: Promise<void>;
  private markOpen: () => void = () => undefined;

  constructor(private readonly url: () => string, private readonly token: string) {
    this.opened = new Promise((r) => (this.markOpen = r));
    this.connect();
  }

  /** Resolves once the first connection is open (or after timeoutMs). */
  waitOpen(timeoutMs: number): Promise<void> {
    return Promise.race([this.opened, new Promise<void>((r) => setTimeout(r, timeoutMs))]);
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url().replace(/^http/, 'ws') + '/v1/alerts/stream', { headers: { authorization: `Bearer ${this.token}` }, handshakeTimeout: 5000 });
    this.ws = ws;
    const mine = new Set<string>();
    ws.on('open', () => {
      this.connections++;
      this.markOpen();
    });
    ws.on('message', (data: RawData) => {
      this.messages++;
      let key: string | undefined;
      try {
        key = (JSON.parse(data.toString()) as { idempotencyKey?: string }).idempotencyKey;
      } catch {
        return;
      }
      if (key === undefined) return;
      if (mine.has(key)) this.dupWithinConnection.push(key);
      mine.add(key);
      this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.ws = null;
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), 250);
    });
  }

  /** Keys seen more than once in total (across reconnections included). */
  repeatsAcrossConnections(): number {
    let n = 0;
    for (const c of this.seen.values()) if (c > 1) n++;
    return n;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.ws?.terminate();
  }
}
