import { createHash, timingSafeEqual } from 'node:crypto';

/** What a bearer token may do (contract section 5). */
export type Role = { kind: 'ingest' } | { kind: 'operator' } | { kind: 'admin' } | { kind: 'team'; team: string };

export interface Principal {
  role: Role;
  /** A short, non-secret name for logs and audit: the first 8 hex digits of the token's hash. */
  tokenId: string;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Tokens are held only as SHA-256 digests and compared in constant time, so neither memory
 * dumps nor timing reveal them.
 */
export class TokenTable {
  private readonly entries: { digest: Buffer; principal: Principal }[] = [];

  /** Parses API_TOKENS: "tokA=operator,tokB=ingest,tokC=team:iom-north". */
  static parse(spec: string): TokenTable {
    const table = new TokenTable();
    for (const part of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      const eq = part.lastIndexOf('=');
      if (eq <= 0) throw new Error('API_TOKENS entries must look like token=role');
      const token = part.slice(0, eq);
      const role = parseRole(part.slice(eq + 1));
      if (token.length < 16) throw new Error('API_TOKENS: every token must be at least 16 characters long');
      table.add(token, role);
    }
    return table;
  }

  add(token: string, role: Role): void {
    const d = digest(token);
    this.entries.push({ digest: d, principal: { role, tokenId: d.toString('hex').slice(0, 8) } });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal for a presented token, or null. Every entry is compared (constant time). */
  lookup(token: string): Principal | null {
    const d = digest(token);
    let found: Principal | null = null;
    for (const e of this.entries) if (timingSafeEqual(e.digest, d)) found = e.principal;
    return found;
  }
}

export function parseRole(s: string): Role {
  if (s === 'ingest' || s === 'operator' || s === 'admin') return { kind: s };
  if (s.startsWith('team:') && /^team:[A-Za-z0-9._-]{1,128}$/.test(s)) return { kind: 'team', team: s.slice(5) };
  throw new Error(`unknown role ${JSON.stringify(s)}: use ingest, operator, admin or team:<id>`);
}

export function roleName(r: Role): string {
  return r.kind === 'team' ? `team:${r.team}` : r.kind;
}

/** The bearer token of an Authorization header, or null. */
export function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m === null ? null : m[1];
}
