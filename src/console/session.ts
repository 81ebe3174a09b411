/**
 * The tab's session: the token in memory and in sessionStorage (this tab only, gone when it
 * closes; never localStorage, never a URL), the role the API grants it, and the officer's name
 * recorded on claims and decisions.
 */
export type RoleKind = 'operator' | 'admin' | 'team';

export interface Session {
  token: string;
  role: RoleKind;
  team: string | null;
  name: string;
}

const KEY = 'iom.console.session';
let current: Session | null = null;

export function session(): Session | null {
  if (current !== null) return current;
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw !== null) current = JSON.parse(raw) as Session;
  } catch {
    current = null;
  }
  return current;
}

export function requireSession(): Session {
  const s = session();
  if (s === null) throw new Error('not logged in');
  return s;
}

export function setSession(s: Session | null): void {
  current = s;
  try {
    if (s === null) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // Storage refused (private mode): the session lives in memory only.
  }
}

export function canAdminister(): boolean {
  const r = session()?.role;
  return r === 'operator' || r === 'admin';
}

export function roleLabel(s: Session): string {
  if (s.role === 'team') return s.team === null ? 'IOM team' : `IOM team ${s.team}`;
  return s.role === 'admin' ? 'Administrator' : 'Operator';
}
