import WebSocket from 'ws';
import { wsUrl } from './api-client.js';

/**
 * One WebSocket to /v1/ingest. The service answers every message, in order, once its fixes are
 * durably recorded: {"ack":[[deviceId,seq],...]} plus "errors" for refused items, or
 * {"error": ..., "nack": [...]} when nothing was recorded. So a FIFO of what was sent pairs each
 * reply with its message and gives the send→ack time.
 */
export interface IngestStats {
  sentFixes: number;
  sentMessages: number;
  ackedFixes: number;
  refusedFixes: number;
  nackedFixes: number;
  /** send→ack times of recent messages, ms. */
  recentAckMs: number[];
}

export class IngestSocket {
  readonly stats: IngestStats = { sentFixes: 0, sentMessages: 0, ackedFixes: 0, refusedFixes: 0, nackedFixes: 0, recentAckMs: [] };
  private readonly pending: { count: number; sentAt: number }[] = [];
  private ws: WebSocket | null = null;
  closedReason: string | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
    /** Called with each refused item or failed message (the service's own words). */
    private readonly onProblem: (text: string) => void,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(this.url, '/v1/ingest'), { headers: { authorization: `Bearer ${this.token}` } });
      this.ws = ws;
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`ingest WebSocket refused: HTTP ${res.statusCode ?? '?'}`)));
      ws.on('error', (e) => {
        this.closedReason ??= e.message;
        reject(e);
      });
      ws.on('close', (code, reason) => {
        this.closedReason ??= `closed by the service (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`;
      });
      ws.on('message', (data) => this.reply(data.toString()));
    });
  }

  /** Messages sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  get isOpen(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(fixes: readonly object[]): void {
    if (this.ws === null || fixes.length === 0) return;
    this.pending.push({ count: fixes.length, sentAt: performance.now() });
    this.stats.sentFixes += fixes.length;
    this.stats.sentMessages++;
    this.ws.send(JSON.stringify(fixes));
  }

  /** Resolves when every message sent has been answered, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.pending.length > 0 && Date.now() < until && this.isOpen) await new Promise((r) => setTimeout(r, 50));
    return this.pending.length === 0;
  }

  close(): void {
    this.ws?.close(1000, 'demo finished');
  }

  private reply(text: string): void {
    const sent = this.pending.shift();
    const s = this.stats;
    if (sent !== undefined) {
      s.recentAckMs.push(performance.now() - sent.sentAt);
      if (s.recentAckMs.length > 200) s.recentAckMs.splice(0, s.recentAckMs.length - 200);
    }
    let body: { ack?: unknown[]; errors?: { index: number; deviceId?: string; seq?: number; error: string }[]; error?: string; nack?: unknown[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      this.onProblem(`unreadable reply from the service: ${text.slice(0, 200)}`);
      return;
    }
    if (Array.isArray(body.ack)) s.ackedFixes += body.ack.length;
    for (const e of body.errors ?? []) {
      s.refusedFixes++;
      this.onProblem(`fix refused: ${e.deviceId ?? '?'} #${e.seq ?? '?'}: ${e.error}`);
    }
    if (body.error !== undefined) {
      s.nackedFixes += Array.isArray(body.nack) ? body.nack.length : (sent?.count ?? 0);
      this.onProblem(`message not recorded: ${body.error}`);
    }
  }
}
