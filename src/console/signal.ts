import { h, fill } from './dom.js';
import { typeWords, ukTime } from './format.js';
import type { Alert } from './types.js';

/**
 * The signal for a new critical alert: a banner across the top (role="alert", read out at
 * once), the tab title flashing until it is dealt with, focus moved to its "Open" button unless
 * the user is typing, and, if the user switched it on, a tone (made here with Web Audio; no file
 * is fetched).
 */
export class CriticalSignal {
  private flash: number | null = null;
  private baseTitle = document.title;
  private sound = false;
  private pending: Alert[] = [];

  constructor(private readonly slot: HTMLElement, private readonly open: (episodeId: string) => void) {}

  setSound(on: boolean): void {
    this.sound = on;
    if (on) this.beep(0.05);
  }

  setBaseTitle(t: string): void {
    this.baseTitle = t;
  }

  raise(a: Alert): void {
    this.pending = [a, ...this.pending.filter((p) => p.episodeId !== a.episodeId)].slice(0, 20);
    this.render();
    if (this.flash === null) {
      let on = false;
      this.flash = window.setInterval(() => {
        on = !on;
        document.title = on ? `⚠ CRITICAL ALERT (${this.pending.length}) — IOM` : this.baseTitle;
      }, 800);
    }
    if (this.sound) this.beep(0.6);
    const active = document.activeElement;
    const typing = active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement || active instanceof HTMLSelectElement;
    if (!typing) (this.slot.querySelector('button.open') as HTMLButtonElement | null)?.focus();
  }

  dismiss(): void {
    this.pending = [];
    if (this.flash !== null) clearInterval(this.flash);
    this.flash = null;
    document.title = this.baseTitle;
    fill(this.slot);
  }

  private render(): void {
    const a = this.pending[0];
    if (a === undefined) return this.dismiss();
    const more = this.pending.length - 1;
    fill(this.slot, h('div', { class: 'critical-banner', role: 'alert', 'data-episode': a.episodeId },
      h('strong', {}, 'NEW CRITICAL ALERT'),
      h('span', {}, ` ${typeWords(a.type)} — subject ${a.subjectId} (${a.team}) at ${ukTime(a.openedAt)}`),
      more > 0 ? h('span', {}, ` and ${more} more`) : null,
      h('button', { type: 'button', class: 'open', onclick: () => { const id = a.episodeId; this.done(id); this.open(id); } }, 'Open alert'),
      h('button', { type: 'button', class: 'secondary', onclick: () => this.done(a.episodeId) }, 'Dismiss'),
    ));
  }

  private done(episodeId: string): void {
    this.pending = this.pending.filter((p) => p.episodeId !== episodeId);
    if (this.pending.length === 0) this.dismiss();
    else this.render();
  }

  private beep(seconds: number): void {
    try {
      const Ctx = window.AudioContext;
      const ctx = new Ctx();
      for (let i = 0; i < 3; i++) {
        const o = ctx.createOscillator();
        const g = ctx.createGain();
        o.frequency.value = 880;
        g.gain.value = 0.2;
        o.connect(g).connect(ctx.destination);
        const t = ctx.currentTime + i * (seconds / 2.5);
        o.start(t);
        o.stop(t + seconds / 4);
      }
    } catch {
      // No audio: the banner and the title still signal.
    }
  }
}
