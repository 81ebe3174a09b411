/**
 * A team's webhook receiver: node:http on 127.0.0.1, one path per team. It checks every request's
 * signature with the team's secret (src/alerts/signature.ts verify(), the README's recipe) and
 * counts receipts per idempotency key, the way a deduping receiver would. Its behaviour can be
 * switched at run time to misbehave: hang (never answer), answer 500, cut the connection, or
 * answer 200 only after the sender has given up (so the sender retries an event the receiver
 * already processed: the at-least-once case the idempotency key exists for).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../../src/alerts/signature.js';
import type { Team } from './world.js';

export type Mode = 'ok' | 'hang' | 'error500' | 'destroy' | 'late200';

export interface KeyCount {
  /** Requests carrying this key. */
  receipts: number;
  /**
   * Of those, processed by the receiver: answered with a 2xx that was fully written, or (mode
   * 'late200') processed at once with the 2xx sent too late for the sender.
   */
  ok: number;
  /** When each of those was counted (ms since epoch). */
  okAt: number[];
}

export class Receiver {
  mode: Mode = 'ok';
  /** Delay for 'late200' (longer than the webhook's timeoutMs) and for 'ok' (0). */
  lateMs = 0;
  okDelayMs = 0;
  readonly keys = new Map<string, KeyCount>();
  requests = 0;
  badSignatures = 0;
  badSignatureSamples: string[] = [];
  unknownPath = 0;
  readonly byMode = new Map<Mode, number>();
  private readonly sockets = new Set<Socket>();
  private readonly secrets = new Map<string, string>();

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(teams: Team[]): Promise<Receiver> {
    let self: Receiver | null = null;
    const server = createServer((req, res) => self?.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => done());
    });
    self = new Receiver(server, (server.address() as { port: number }).port);
    for (const t of teams) self.secrets.set(t.path, t.secret);
    server.on('connection', (s: Socket) => {
      self?.sockets.add(s);
      s.on('close', () => self?.sockets.delete(s));
    });
    return self;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      const mode = this.mode;
      this.byMode.set(mode, (this.byMode.get(mode) ?? 0) + 1);
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const secret = this.secrets.get(path);
      if (secret === undefined) {
        this.unknownPath++;
        res.writeHead(404).end();
        return;
      }
      const h = (name: string): string | undefined => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      const key = h(IDEMPOTENCY_HEADER) ?? '';
      const signed = verify(secret, { signature: h(SIGNATURE_HEADER), timestamp: h(TIMESTAMP_HEADER) }, body);
      let bodyKey: unknown;
      try {
        bodyKey = (JSON.parse(body) as { idempotencyKey?: unknown }).idempotencyKey;
      } catch {
        bodyKey = undefined;
      }
      if (!signed || bodyKey !== key) {
        // A receiver drops these; they never count as delivered.
        this.badSignatures++;
        if (this.badSignatureSamples.length < 5) this.badSignatureSamples.push(`${path} ${key}: ${signed ? 'body key differs from header' : 'bad signature'}`);
        res.writeHead(401).end();
        return;
      }
      const id = `${path} ${key}`;
      let c = this.keys.get(id);
      if (c === undefined) this.keys.set(id, (c = { receipts: 0, ok: 0, okAt: [] }));
      c.receipts++;
      const count = c;
      const answer = (status: number, countOnFinish = true): void => {
        if (res.destroyed || res.writableEnded) return;
        res.on('finish', () => {
          if (countOnFinish && status >= 200 && status < 300) {
            count.ok++;
            count.okAt.push(Date.now());
          }
        });
        res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '{"ok":true}' : '{"ok":false}');
      };
      switch (mode) {
        case 'ok':
          if (this.okDelayMs > 0) setTimeout(() => answer(200), this.okDelayMs);
          else answer(200);
          break;
        case 'error500':
          answer(500);
          break;
        case 'destroy':
          req.socket.destroy();
          break;
        case 'hang':
          break; // never answered; the sender times out and closes
        case 'late200':
          // Processed now (the receiver's side effect happened); the 200 goes out after the
          // sender has given up, so the sender retries an event already processed.
          count.ok++;
          count.okAt.push(Date.now());
          setTimeout(() => answer(200, false), this.lateMs);
          break;
      }
    });
  }

  /** Distinct keys processed (≥ one 2xx) on a team's path. */
  delivered(path: string): Set<string> {
    const out = new Set<string>();
    for (const [id, c] of this.keys) if (c.ok > 0 && id.startsWith(`${path} `)) out.add(id.slice(path.length + 1));
    return out;
  }

  /** Keys answered 2xx more than once, and the sum of the extra 2xx answers. */
  duplicates(): { keys: number; extra: number; samples: string[] } {
    let keys = 0, extra = 0;
    const samples: string[] = [];
    for (const [id, c] of this.keys) {
      if (c.ok > 1) {
        keys++;
        extra += c.ok - 1;
        if (samples.length < 5) samples.push(`${id} ×${c.ok}`);
      }
    }
    return { keys, extra, samples };
  }

  /** Requests in total minus one per key (raw repeats, whatever their answer). */
  repeats(): number {
    let n = 0;
    for (const c of this.keys.values()) n += c.receipts - 1;
    return n;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
