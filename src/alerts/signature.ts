import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signing. The signature is HMAC-SHA256 over `${timestamp}.${body}` with the team's
 * secret, sent as `x-iom-signature: sha256=<hex>` with `x-iom-timestamp: <unix seconds>`.
 * Binding the timestamp stops a captured request being replayed later; receivers reject a
 * timestamp more than 5 minutes from their clock.
 */
export const SIGNATURE_HEADER = 'x-iom-signature';
export const TIMESTAMP_HEADER = 'x-iom-timestamp';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export function sign(secret: string, timestampS: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

/** What a receiver does (and what the tests do): constant-time compare plus a freshness window. */
export function verify(secret: string, headers: { signature?: string; timestamp?: string }, body: string, nowS = Date.now() / 1000, toleranceS = 300): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isFinite(ts) || Math.abs(nowS - ts) > toleranceS || headers.signature === undefined) return false;
  const expected = Buffer.from(sign(secret, ts, body));
  const got = Buffer.from(headers.signature);
  return expected.length === got.length && timingSafeEqual(expected, got);
}
