// Security wave 2, Medium 7: SSRF through webhook URLs. Private, loopback, link-local,
// unique-local, numeric-IP spellings and cloud metadata names are refused when routing is set
// AND before delivery, at least every webhookCheckTtlMs per destination (DNS answers change), unless WEBHOOK_ALLOW_HOSTS lists them; URLs
// with user-info are refused; errors and dead letters never echo a URL's credentials or query,
// nor an internal status code beyond its class.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWebhookUrl, WebhookAllowList } from '../../src/alerts/webhook-guard.js';
import { readEnv } from '../../src/server/settings.js';
import { enqueueEvents, Receiver, SECRET_N, startWorkers, syntheticEvent, waitUntil, type InProcessWorkers } from '../support/delivery.js';
import { api, startTestService, TOKENS, type TestService } from '../support/server.js';

const none = WebhookAllowList.parse('');
const refused = async (url: string, allow = none, resolve?: (h: string) => Promise<string[]>): Promise<string | null> => {
  try {
    await checkWebhookUrl(url, allow, resolve);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

describe('the destination check', () => {
  it('refuses loopback, private, link-local, unique-local, reserved and numeric spellings', async () => {
    for (const url of [
      'http://127.0.0.1/', 'http://127.1/', 'http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://0x7f.1/',
      'http://0.0.0.0/', 'http://10.1.2.3/', 'http://172.16.0.1/', 'http://192.168.1.1:8080/x', 'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/', 'http://[::1]/', 'http://[::]/', 'http://[fe80::1]/', 'http://[fd00::1]/', 'http://[fc00::1]/',
      'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a9fe:a9fe]/', 'http://224.0.0.1/', 'http://255.255.255.255/',
      'http://localhost:6379/', 'http://metadata.google.internal/computeMetadata/v1/', 'http://foo.localhost/',
    ]) expect(await refused(url), url).not.toBeNull();
  });

  it('checks what a name resolves to (every answer), not the name', async () => {
    const dns = (answers: Record<string, string[]>) => async (h: string) => answers[h] ?? [];
    expect(await refused('https://hooks.example/x', none, dns({ 'hooks.example': ['10.0.0.5'] }))).not.toBeNull();
    expect(await refused('https://hooks.example/x', none, dns({ 'hooks.example': ['93.184.216.34', '127.0.0.1'] }))).not.toBeNull();
    expect(await refused('https://hooks.example/x', none, dns({ 'hooks.example': ['93.184.216.34'] }))).toBeNull();
    expect(await refused('https://nowhere.example/x', none, dns({}))).not.toBeNull();
  });

  it('allows public addresses, and listed hosts, host:port and CIDR ranges', async () => {
    expect(await refused('https://93.184.216.34/hook')).toBeNull();
    const allow = WebhookAllowList.parse('127.0.0.1:9000,10.20.0.0/16,receiver.local,[::1]');
    expect(await refused('http://127.0.0.1:9000/hook', allow)).toBeNull();
    expect(await refused('http://127.0.0.1:9001/hook', allow)).not.toBeNull();
    expect(await refused('http://10.20.3.4/hook', allow)).toBeNull();
    expect(await refused('http://10.21.3.4/hook', allow)).not.toBeNull();
    expect(await refused('http://receiver.local:8443/hook', allow, async () => ['192.168.0.9'])).toBeNull();
    expect(await refused('http://[::1]:7000/hook', allow)).toBeNull();
  });

  it('refuses user-info and never echoes credentials, path or query', async () => {
    const m = await refused('https://alice:hunter2-secret@93.184.216.34/p/ath?token=query-secret');
    expect(m).not.toBeNull();
    for (const m2 of [m, await refused('http://169.254.169.254/path-secret?token=query-secret')]) {
      expect(m2).not.toMatch(/hunter2|alice|query-secret|path-secret/);
    }
  });

  it('WEBHOOK_ALLOW_HOSTS is parsed by the settings schema, a bad entry named', () => {
    expect(readEnv({ WEBHOOK_ALLOW_HOSTS: '127.0.0.1:9000,10.20.0.0/16' }).WEBHOOK_ALLOW_HOSTS).toBe('127.0.0.1:9000,10.20.0.0/16');
    expect(() => readEnv({ WEBHOOK_ALLOW_HOSTS: '10.0.0.0/99' })).toThrow(/WEBHOOK_ALLOW_HOSTS.*10\.0\.0\.0\/99/);
    expect(() => readEnv({ WEBHOOK_ALLOW_HOSTS: 'a b' })).toThrow(/WEBHOOK_ALLOW_HOSTS/);
  });
});

describe('routing and delivery', () => {
  let t: TestService;
  let receiver: Receiver;
  let workers: InProcessWorkers | null = null;
  beforeAll(async () => {
    // The service allows nothing private: the default.
    t = await startTestService({ webhookAllowHosts: '' });
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await workers?.close();
    await receiver?.close();
    await t?.close();
  });

  it('PUT /v1/teams refuses private destinations and user-info, without echoing secrets', async () => {
    for (const url of ['http://169.254.169.254/latest', 'http://127.0.0.1:6379/', 'http://2130706433/', 'http://[fd00::1]/', 'http://metadata.google.internal/', receiver.url('/north')]) {
      const r = await api(t.url, 'PUT', '/v1/teams/iom-north', { token: TOKENS.operator, body: { webhooks: [{ url, secret: SECRET_N }] } });
      expect(r.status, url).toBe(400);
      expect(r.body.code).toBe('WEBHOOK_URL_REFUSED');
    }
    const r = await api(t.url, 'PUT', '/v1/teams/iom-north', { token: TOKENS.operator, body: { webhooks: [{ url: 'https://bob:pw-secret-1@93.184.216.34/h?sig=q-secret-2', secret: SECRET_N }] } });
    expect(r.status).toBe(400);
    expect(r.text).not.toMatch(/pw-secret-1|q-secret-2|bob/);
    const esc = await api(t.url, 'PUT', '/v1/teams/iom-north', { token: TOKENS.operator, body: { webhooks: [], escalation: { webhook: { url: 'http://10.0.0.1/', secret: SECRET_N } } } });
    expect(esc.status).toBe(400);
    expect(esc.body.details.path).toBe('body.escalation.webhook.url');
  });

  it('a delivery to a destination that became private is refused, not retried, and dead-lettered without the URL', async () => {
    // Routing written straight to Redis (as if set when the name resolved elsewhere).
    const url = `${receiver.url('/north')}?token=query-secret-3`;
    await t.service.redis.hset(t.service.keys.teams, 'iom-north', JSON.stringify({ webhooks: [{ id: 'default', url, secret: SECRET_N, timeoutMs: 2000 }] }));
    workers = startWorkers(t.prefix, { webhookAllowHosts: '', attempts: 3 });
    const e = syntheticEvent(1, 'iom-north', 'exclusion', 'high');
    await enqueueEvents(t.service.redis, t.service.keys, [e]);
    const dead = await waitUntil('dead letter', async () => {
      const d = await api(t.url, 'GET', '/v1/deliveries/dead', { token: TOKENS.operator });
      return d.body.deadLetters.length >= 1 ? d.body : null;
    }, 15_000);
    expect(receiver.receipts.length).toBe(0);
    const row = dead.deadLetters?.[0] as Record<string, unknown>;
    expect(row, JSON.stringify(dead)).toBeDefined();
    expect(row.attempts).toBe(1);
    expect(String(row.error)).toMatch(/destination refused/);
    expect(JSON.stringify(dead)).not.toMatch(/query-secret-3|127\.0\.0\.1/);
  });

  it('a destination that passed the check is trusted for webhookCheckTtlMs only: checked again after it, and refused once it resolves to a private address', async () => {
    await workers?.close();
    // The name resolves (for the check) to a public address first, then to a private one; the
    // POST itself cannot connect (no such name for the system resolver), so the job retries.
    const url = 'http://hooks.iom-test.invalid:8080/h';
    await t.service.redis.hset(t.service.keys.teams, 'iom-north', JSON.stringify({ webhooks: [{ id: 'default', url, secret: SECRET_N, timeoutMs: 2000 }] }));
    const answers: string[][] = [];
    const resolve = async (): Promise<string[]> => {
      const a = answers.length === 0 ? ['93.184.216.34'] : ['10.0.0.5'];
      answers.push(a);
      return a;
    };
    workers = startWorkers(t.prefix, { webhookAllowHosts: '', attempts: 20, backoffMs: 50, webhookCheckTtlMs: 400, resolve });
    const e = syntheticEvent(7, 'iom-north', 'exclusion', 'high');
    await enqueueEvents(t.service.redis, t.service.keys, [e]);
    const dead = await waitUntil('dead letter', async () => {
      const d = await api(t.url, 'GET', '/v1/deliveries/dead', { token: TOKENS.operator });
      const rows = (d.body.deadLetters as Record<string, unknown>[]).filter((r) => String(r.key).startsWith(e.episodeId));
      return rows.length >= 1 ? rows[0] : null;
    }, 15_000);
    expect(String(dead.error)).toMatch(/destination refused/);
    // Several attempts within the TTL (connection failures) went without a DNS lookup each.
    expect(Number(dead.attempts)).toBeGreaterThan(2);
    expect(answers.length).toBe(2);
    await workers.close();
    workers = null;
  });
});
