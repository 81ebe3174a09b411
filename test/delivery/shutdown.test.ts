// Graceful stop with WebSocket clients still connected must not hang. While writing these suites,
// Service.stop() was seen (5 runs in a row, not reproduced afterwards) spending exactly 30 s in
// app.close() when an ingest client was open or had just sent its close frame: ws's close timeout.
// Sockets.close() pauses every ingest socket before closeIngestClients() sends the close frames,
// so a peer's close reply sits unread in the paused socket. This guards against that.
import { afterAll, describe, expect, it } from 'vitest';
import { startTestService, TOKENS, uniquePrefix, WsClient, type TestService } from '../support/delivery.js';

describe('service stop with a connected ingest client', () => {
  let svc: TestService | null = null;
  let pending: Promise<void> | null = null;

  afterAll(async () => {
    await pending?.catch(() => undefined);
    await svc?.close();
  });

  it('Service.stop() finishes promptly (< 5 s) while an ingest client is connected', async () => {
    svc = await startTestService(uniquePrefix('dlv-stop'));
    const client = await WsClient.connect(svc.url, '/v1/ingest', TOKENS.ingest);
    const stream = await WsClient.connect(svc.url, '/v1/alerts/stream', TOKENS.north);
    // One message and its reply (an unknown device: refused, nothing recorded).
    const reply = await client.send({ deviceId: 'TAG-NOBODY', seq: 1, ts: new Date().toISOString(), lat: 51.5, lon: -0.1 });
    expect(reply.errors?.length).toBe(1);
    const t = Date.now();
    const stopping = svc.close();
    pending = stopping;
    const finished = await Promise.race([stopping.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    const took = Date.now() - t;
    // Unblock the stop for the clean-up: cutting the TCP connection from the client side.
    if (!finished) {
      client.ws.terminate();
      stream.ws.terminate();
    }
    expect(finished, `stop() still running after ${took} ms (ws close timeout is 30 s)`).toBe(true);
  });
});
