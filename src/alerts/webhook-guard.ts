import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go (SSRF guard). A team's webhook URL is checked when routing is set and
 * again before every delivery (DNS answers change): its host must resolve only to public
 * addresses, unless WEBHOOK_ALLOW_HOSTS lists it. Refused: loopback, private (RFC 1918), carrier
 * NAT, link-local (169.254.0.0/16: cloud metadata), unique-local and link-local IPv6,
 * IPv4-mapped IPv6, multicast, reserved and documentation ranges, `localhost` and `*.internal`
 * names (e.g. `metadata.google.internal`), and URLs with user-info. Numeric spellings of IPv4
 * (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) are read the WHATWG way (as `fetch` reads
 * them) before the check, so they are refused like the dotted form.
 */

// Separate lists: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules too.
const BLOCKED = new BlockList();
const BLOCKED6 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], ['64:ff9b:1::', 48], // NAT64
  ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16], // discard, IETF/Teredo, documentation, 6to4
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8], // unique-local, link-local, site-local, multicast
] as const) BLOCKED6.addSubnet(net, bits, 'ipv6');

/** Names refused before any DNS lookup (they name the host itself or a cloud's internal services). */
function blockedName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.internal') || h.endsWith('.local') || h === 'metadata' || h === 'instance-data';
}

type Entry = { kind: 'host'; host: string; port: number | null } | { kind: 'cidr'; text: string };

/** WEBHOOK_ALLOW_HOSTS: comma-separated `host`, `host:port` or CIDR entries (`10.20.0.0/16`, `fd00::/8`). */
export class WebhookAllowList {
  private readonly hosts: Entry[] = [];
  private readonly nets = new BlockList();
  private hasNets = false;

  /** Parses the list; a bad entry throws naming it. */
  static parse(spec: string): WebhookAllowList {
    const list = new WebhookAllowList();
    for (const raw of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const slash = raw.indexOf('/');
      if (slash >= 0) {
        const addr = raw.slice(0, slash), bits = Number(raw.slice(slash + 1));
        const v = isIP(addr);
        if (v === 0 || !Number.isInteger(bits) || bits < 0 || bits > (v === 4 ? 32 : 128)) throw new Error(`WEBHOOK_ALLOW_HOSTS: ${JSON.stringify(raw)} is not a CIDR range (e.g. 10.20.0.0/16)`);
        list.nets.addSubnet(addr, bits, v === 4 ? 'ipv4' : 'ipv6');
        list.hasNets = true;
        continue;
      }
      // host, host:port, [v6], [v6]:port, or a bare IPv6 address
      let host = raw, port: number | null = null;
      const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw) ?? (isIP(raw) === 6 ? null : /^([^:]+):(\d+)$/.exec(raw));
      if (m !== null) {
        host = m[1];
        port = m[2] === undefined ? null : Number(m[2]);
      }
      if (port !== null && (port < 1 || port > 65535)) throw new Error(`WEBHOOK_ALLOW_HOSTS: ${JSON.stringify(raw)} has a bad port`);
      if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new Error(`WEBHOOK_ALLOW_HOSTS: ${JSON.stringify(raw)} is not a host, host:port or CIDR entry`);
      list.hosts.push({ kind: 'host', host: normalHost(host), port });
    }
    return list;
  }

  get size(): number {
    return this.hosts.length + (this.hasNets ? 1 : 0);
  }

  /** Whether the URL's host (and port) is listed by name or address. */
  allowsHost(host: string, port: number): boolean {
    const h = normalHost(host);
    return this.hosts.some((e) => e.kind === 'host' && e.host === h && (e.port === null || e.port === port));
  }

  /** Whether a resolved address is inside a listed CIDR range. */
  allowsAddress(address: string): boolean {
    if (!this.hasNets) return false;
    const v = isIP(address);
    return v !== 0 && this.nets.check(address, v === 4 ? 'ipv4' : 'ipv6');
  }
}

function normalHost(h: string): string {
  const s = h.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  // One spelling per address (e.g. `::ffff:7f00:1` and `::ffff:127.0.0.1`).
  if (isIP(s) !== 0) return new URL(`http://${isIP(s) === 6 ? `[${s}]` : s}/`).hostname.replace(/^\[|\]$/g, '');
  return s;
}

/** A refused destination. The message never holds the URL's user-info, path or query. */
export class WebhookRefused extends Error {
  override readonly name = 'WebhookRefused';
}

/** The URL as it may be shown: scheme, host and port only. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

export function isBlockedAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 0) return true;
  return v === 4 ? BLOCKED.check(address, 'ipv4') : BLOCKED6.check(address, 'ipv6') || BLOCKED.check(address, 'ipv6');
}

export type Resolver = (host: string) => Promise<string[]>;
const systemResolver: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Checks a webhook URL; throws WebhookRefused saying why. `resolve` is the DNS lookup (tests
 * inject one). Every address the name resolves to must be allowed: a name with one public and
 * one private answer is refused.
 */
export async function checkWebhookUrl(url: string, allow: WebhookAllowList, resolve: Resolver = systemResolver): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebhookRefused('webhook URL is not a valid URL');
  }
  const shown = `${u.protocol}//${u.host}`;
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new WebhookRefused(`webhook URL ${shown}: only http and https are allowed`);
  if (u.username !== '' || u.password !== '') throw new WebhookRefused(`webhook URL ${shown}: user-info (user:password@) is not allowed; authenticate with the signature`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  if (allow.allowsHost(host, port)) return;
  if (isIP(host) === 0 && blockedName(host)) throw new WebhookRefused(`webhook URL ${shown}: the host names an internal service; list it in WEBHOOK_ALLOW_HOSTS if it is an on-premises receiver`);
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new WebhookRefused(`webhook URL ${shown}: the host cannot be resolved`);
    }
    if (addresses.length === 0) throw new WebhookRefused(`webhook URL ${shown}: the host cannot be resolved`);
  }
  for (const a of addresses) {
    if (allow.allowsAddress(a) || allow.allowsHost(a, port)) continue;
    if (isBlockedAddress(a)) throw new WebhookRefused(`webhook URL ${shown}: the host is (or resolves to) a loopback, private, link-local or reserved address; list it in WEBHOOK_ALLOW_HOSTS if it is an on-premises receiver`);
  }
}
