import './styles.css';
import { api, ApiFailure, whenUnauthorised } from './api.js';
import { AlertFeed } from './alert-feed.js';
import { fill, h } from './dom.js';
import { setMapStyleUrl } from './map.js';
import { CriticalSignal } from './signal.js';
import { canAdminister, roleLabel, session, setSession } from './session.js';
import { loginView } from './views/login.js';
import type { View, ViewContext } from './views/view.js';
import { queueView } from './views/queue.js';
import { overviewView } from './views/overview.js';
import { alertView } from './views/alert.js';
import { subjectsView } from './views/subjects.js';
import { subjectView } from './views/subject.js';
import { subjectFormView } from './views/subject-form.js';
import { zonesView } from './views/zones.js';
import { teamsView } from './views/teams.js';
import { opsView } from './views/ops.js';

/**
 * The console's shell: log-in, the header (navigation, who is logged in, the live state, the
 * critical-alert banner) and a hash router (#/queue, #/alerts/<id>…): routes carry no token and
 * no personal data beyond ids the API already keys on.
 */
const app = document.getElementById('app') as HTMLElement;
let feed: AlertFeed | null = null;
let signal: CriticalSignal | null = null;
let cleanup: (() => void) | null = null;
let main: HTMLElement | null = null;
let liveEl: HTMLElement | null = null;

interface Route { pattern: RegExp; view: (...args: string[]) => View; title: string; nav?: string }
const ROUTES: Route[] = [
  { pattern: /^\/?$/, view: () => queueView(), title: 'Alert queue', nav: 'queue' },
  { pattern: /^\/queue$/, view: () => queueView(), title: 'Alert queue', nav: 'queue' },
  { pattern: /^\/map$/, view: () => overviewView(), title: 'Map', nav: 'map' },
  { pattern: /^\/alerts\/(.+)$/, view: (id) => alertView(id), title: 'Alert', nav: 'queue' },
  { pattern: /^\/subjects$/, view: () => subjectsView(), title: 'Subjects', nav: 'subjects' },
  { pattern: /^\/subjects\/new$/, view: () => subjectFormView(null), title: 'New subject', nav: 'subjects' },
  { pattern: /^\/subjects\/(.+)\/edit$/, view: (id) => subjectFormView(id), title: 'Edit subject', nav: 'subjects' },
  { pattern: /^\/subjects\/(.+)$/, view: (id) => subjectView(id), title: 'Subject', nav: 'subjects' },
  { pattern: /^\/zones$/, view: () => zonesView(null), title: 'Zones', nav: 'zones' },
  { pattern: /^\/zones\/(.+)$/, view: (id) => zonesView(id), title: 'Zones', nav: 'zones' },
  { pattern: /^\/teams$/, view: () => teamsView(), title: 'Teams', nav: 'teams' },
  { pattern: /^\/ops$/, view: () => opsView(), title: 'Operations', nav: 'ops' },
];

async function boot(): Promise<void> {
  try {
    const cfg = await fetch('/console/config.json', { cache: 'no-store' }).then((r) => r.json() as Promise<{ mapStyleUrl: string | null }>);
    setMapStyleUrl(cfg.mapStyleUrl);
  } catch {
    setMapStyleUrl(null);
  }
  whenUnauthorised(() => logout('Your session ended (the token is no longer accepted). Log in again.'));
  if (session() === null) showLogin();
  else await showShell();
}

function showLogin(message?: string): void {
  cleanup?.();
  cleanup = null;
  document.title = 'Log in — IOM monitoring console';
  fill(app, loginView(async (s) => {
    setSession(s);
    await showShell();
  }, message));
}

function logout(message?: string): void {
  feed?.stop();
  feed = null;
  signal?.dismiss();
  signal = null;
  setSession(null);
  if (location.hash !== '') history.replaceState(null, '', location.pathname);
  showLogin(message);
}

async function showShell(): Promise<void> {
  const s = session();
  if (s === null) return showLogin();
  const navItems: [string, string, boolean][] = [
    ['queue', 'Alert queue', true],
    ['map', 'Map', true],
    ['subjects', 'Subjects', true],
    ['zones', 'Zones', true],
    ['teams', 'Teams', true],
    ['ops', 'Operations', true],
  ];
  liveEl = h('span', { class: 'live', role: 'status', 'aria-live': 'polite' }, 'Connecting…');
  const banner = h('div', { class: 'banner-slot' });
  main = h('main', { id: 'main', tabindex: '-1' });
  const soundBox = h('input', { type: 'checkbox', id: 'sound-toggle' }) as HTMLInputElement;
  const header = h('header', { class: 'top' },
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); main?.focus(); } }, 'Skip to content'),
    h('div', { class: 'brand' }, 'IOM monitoring'),
    h('nav', { 'aria-label': 'Main' }, h('ul', {}, ...navItems.filter(([, , show]) => show).map(([k, label]) => h('li', {}, h('a', { href: `#/${k}`, 'data-nav': k }, label))))),
    h('div', { class: 'who' },
      liveEl,
      h('label', { class: 'sound', for: 'sound-toggle', title: 'Play a tone when a critical alert arrives' }, soundBox, ' Sound'),
      h('span', { class: 'role', 'data-role': s.role }, `${s.name} · ${roleLabel(s)}`),
      h('button', { type: 'button', class: 'secondary', onclick: () => logout() }, 'Log out'),
    ),
  );
  fill(app, header, banner, main);
  signal = new CriticalSignal(banner, (id) => { location.hash = `#/alerts/${encodeURIComponent(id)}`; });
  soundBox.addEventListener('change', () => signal?.setSound(soundBox.checked));
  feed = new AlertFeed();
  feed.onCritical((a) => signal?.raise(a));
  feed.onChange(() => updateLive());
  feed.start().catch((e: unknown) => {
    if (e instanceof ApiFailure && e.status === 403) liveEl!.textContent = 'Alerts unavailable to this token';
  });
  (window as unknown as { __iomFeed: AlertFeed }).__iomFeed = feed;
  window.onhashchange = () => route();
  route();
}

function updateLive(): void {
  if (liveEl === null || feed === null) return;
  const n = feed.open.size;
  const mode = feed.mode === 'live' ? 'Live' : feed.mode === 'polling' ? 'Polling' : 'Connecting…';
  liveEl.title = feed.mode === 'polling' ? 'The alert stream is unavailable: new alerts are fetched every second' : feed.mode === 'live' ? 'New alerts arrive over the alert stream' : '';
  liveEl.textContent = `${mode} · ${n.toLocaleString('en-GB')} open`;
  liveEl.dataset.mode = feed.mode;
}

function route(): void {
  if (main === null || feed === null) return;
  const path = decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const hit = ROUTES.map((r) => ({ r, m: r.pattern.exec(path) })).find((x) => x.m !== null);
  cleanup?.();
  cleanup = null;
  for (const a of document.querySelectorAll('nav a[data-nav]')) {
    if (a.getAttribute('data-nav') === hit?.r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (hit === undefined || hit.m === null) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no such page in the console.'));
    return;
  }
  const ctx: ViewContext = { feed, canAdminister: canAdminister(), session: session()! };
  const view = hit.r.view(...hit.m.slice(1));
  document.title = `${hit.r.title} — IOM monitoring console`;
  signal?.setBaseTitle(document.title);
  fill(main);
  cleanup = view(main, ctx) ?? null;
  // Headings take focus on navigation so screen readers announce the new view.
  const h1 = main.querySelector('h1');
  if (h1 !== null && document.activeElement === document.body) {
    h1.setAttribute('tabindex', '-1');
  }
}

void boot();

// Exposed for the role check at log-in.
export { api };
