// A token a browser sends as a WebSocket subprotocol (`Sec-WebSocket-Protocol: bearer, <token>`)
// never reaches the service's log, whether the upgrade is accepted or refused, even at the most
// verbose log level; nor does one sent in an Authorization header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { cleanupPrefix, sleep, spawnService, TOKEN_SPEC, TOKENS, uniquePrefix, type ChildService } from '../support/server.js';

function offer(url: string, path: string, protocols: string[]): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path, protocols);
  return new Promise((done) => {
    ws.once('open', () => {
      ws.close();
      done(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    ws.once('error', () => done(0));
  });
}

describe('tokens carried as WebSocket subprotocols stay out of the log', () => {
  const prefix = uniquePrefix('wslog');
  let svc: ChildService;

  beforeAll(async () => {
    svc = await spawnService({ API_TOKENS: TOKEN_SPEC, KEY_PREFIX: prefix, LOG_LEVEL: 'trace', WORKERS: '0' });
  });

  afterAll(async () => {
    if (svc !== undefined && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
    await cleanupPrefix(prefix);
  });

  it('logs neither a good nor a wrong token, in a subprotocol or a header', async () => {
    const wrong = 'wrong-token-but-well-formed-0123456789';
    expect(await offer(svc.url, '/v1/alerts/stream', ['bearer', TOKENS.north])).toBe(101);
    expect(await offer(svc.url, '/v1/ingest', ['bearer', TOKENS.ingest])).toBe(101);
    expect(await offer(svc.url, '/v1/alerts/stream', ['bearer', wrong])).toBe(401);
    expect(await offer(svc.url, '/v1/ingest', ['bearer', TOKENS.north])).toBe(403);
    expect((await fetch(`${svc.url}/v1/positions`, { headers: { authorization: `Bearer ${TOKENS.operator}`, 'sec-websocket-protocol': `bearer, ${TOKENS.admin}` } })).status).toBe(200);
    expect((await fetch(`${svc.url}/v1/positions`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
    await sleep(300);
    const log = svc.output();
    expect(log.length).toBeGreaterThan(0);
    for (const t of [TOKENS.north, TOKENS.ingest, TOKENS.operator, TOKENS.admin, wrong]) expect(log).not.toContain(t);
  });
});
