import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './signature.js';
import type { WebhookConfig } from './team-config.js';

/** A webhook request that ran past the hook's timeoutMs (named like fetch's, for the dead letter). */
export class WebhookTimeout extends Error {
  override readonly name = 'TimeoutError';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/**
 * Signed webhook POSTs over one keep-alive connection pool per worker process (node:http and
 * node:https agents, one each): a busy receiver gets a few reused connections instead of a TLS
 * or TCP handshake per alert, and there is no fetch/WHATWG-stream machinery per request
 * (undici's fetch took ~14 % of a delivery worker's busy time, `BENCH_PROFILE=1 npm run bench:alerts`).
 * Redirects are not followed (a 3xx is a failure). `maxSockets` bounds the connections to one
 * host:port; requests past it wait in the agent's queue.
 */
export class WebhookSender {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  /** hook URL → its parsed form (a team has a few hooks; parsing one per POST showed in profiles) */
  private readonly targets = new Map<string, { url: URL; https: boolean }>();

  constructor(maxSockets = 64) {
    // Idle connections are closed after 4 s, before a receiver's usual 5 s keep-alive timeout.
    const opts = { keepAlive: true, keepAliveMsecs: 1000, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const, timeout: 4000 };
    this.http = new HttpAgent(opts);
    this.https = new HttpsAgent(opts);
  }

  /** One signed POST; resolves on 2xx, throws otherwise (so BullMQ retries). */
  post(hook: WebhookConfig, payload: unknown, key: string): Promise<void> {
    const body = JSON.stringify(payload);
    const ts = Math.floor(Date.now() / 1000);
    let target = this.targets.get(hook.url);
    if (target === undefined) {
      const u = new URL(hook.url);
      target = { url: u, https: u.protocol === 'https:' };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(hook.url, target);
    }
    const { url, https } = target;
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'iom-geofence/0.1',
      [IDEMPOTENCY_HEADER]: key,
      [TIMESTAMP_HEADER]: String(ts),
      [SIGNATURE_HEADER]: sign(hook.secret, ts, body),
    };
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let req: ClientRequest;
      const done = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onResponse = (res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        res.on('error', (e) => done(e));
        res.on('end', () => {
          if (status >= 200 && status < 300) done();
          else if (status >= 300 && status < 400) done(new Error('receiver answered with a redirect (not followed)'));
          else done(new Error(`receiver answered ${Math.floor(status / 100)}xx`));
        });
        res.resume();
      };
      const send = (mayRetry: boolean): void => {
        let answered = false;
        req = (https ? httpsRequest : httpRequest)(url, { method: 'POST', agent: https ? this.https : this.http, headers }, (res) => {
          answered = true;
          onResponse(res);
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          // A kept-alive connection the receiver closed just as it was reused: once more on a
          // new one (Node's documented pattern; the idempotency key covers a repeat).
          if (mayRetry && !answered && !settled && req.reusedSocket && e.code === 'ECONNRESET') send(false);
          else done(e);
        });
        req.end(body);
      };
      // The whole exchange (connect, send, answer) within timeoutMs.
      const timer = setTimeout(() => {
        const err = new WebhookTimeout(hook.timeoutMs);
        done(err);
        req.destroy(err);
      }, hook.timeoutMs);
      send(true);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
