import { z } from 'zod';

/**
 * How a team receives alerts: webhooks (each a URL and a signing secret) and, for critical and
 * high episodes nobody acknowledges, an escalation route (e.g. the police control room or the
 * out-of-hours service). Stored in Redis, set through PUT /v1/teams/:id.
 */
const Webhook = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('default'),
  url: z.url({ protocol: /^https?$/ }),
  /** HMAC-SHA256 key for the x-iom-signature header; at least 16 characters. */
  secret: z.string().min(16).max(512),
  timeoutMs: z.number().int().min(100).max(60_000).default(5000),
});

/** Longest escalation wait (afterS, repeatS): 7 days. */
export const MAX_ESCALATION_S = 7 * 86400;

export const TeamConfigSchema = z.strictObject({
  webhooks: z.array(Webhook).max(8).default([]),
  escalation: z.strictObject({
    webhook: Webhook,
    /** Seconds an unacknowledged episode waits before escalation, by severity. */
    afterS: z.strictObject({
      critical: z.number().int().min(1).max(MAX_ESCALATION_S, `must be at most ${MAX_ESCALATION_S} seconds (7 days); a longer wait would silently disable escalation`).default(300),
      high: z.number().int().min(1).max(MAX_ESCALATION_S, `must be at most ${MAX_ESCALATION_S} seconds (7 days); a longer wait would silently disable escalation`).default(900),
    }).default({ critical: 300, high: 900 }),
    /** Seconds between repeated escalations, and how many at most. */
    repeatS: z.number().int().min(1).max(MAX_ESCALATION_S, `must be at most ${MAX_ESCALATION_S} seconds (7 days)`).default(900),
    max: z.number().int().min(1).max(20).default(3),
  }).optional(),
}).refine((c) => new Set(c.webhooks.map((w) => w.id)).size === c.webhooks.length, { message: 'webhook ids must be unique', path: ['webhooks'] });

export type TeamConfig = z.output<typeof TeamConfigSchema>;
export type WebhookConfig = z.output<typeof Webhook>;

/** The config as shown through the API: secrets never leave the service. */
export function redactTeamConfig(c: TeamConfig): unknown {
  const hide = (w: WebhookConfig): object => ({ ...w, secret: '[set]' });
  return { ...c, webhooks: c.webhooks.map(hide), ...(c.escalation === undefined ? {} : { escalation: { ...c.escalation, webhook: hide(c.escalation.webhook) } }) };
}
