import { h } from './dom.js';

/**
 * A list that renders only the rows in view (fixed row height), so 10,000 open alerts scroll as
 * smoothly as ten. It is one keyboard stop (role="listbox"): arrows, Page Up/Down, Home/End move
 * the active row (aria-activedescendant), Enter opens it.
 */
export class VirtualList<T> {
  readonly el: HTMLDivElement;
  private readonly inner: HTMLDivElement;
  private items: T[] = [];
  private active = 0;
  private readonly overscan = 6;

  constructor(
    label: string,
    private readonly rowHeight: number,
    private readonly key: (item: T) => string,
    private readonly render: (item: T, row: HTMLElement) => void,
    private readonly activate: (item: T) => void,
  ) {
    this.inner = h('div', { class: 'vlist-inner' });
    this.el = h('div', { class: 'vlist', role: 'listbox', tabindex: '0', 'aria-label': label }, this.inner);
    this.el.addEventListener('scroll', () => this.draw());
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  setItems(items: T[]): void {
    const activeKey = this.items[this.active] === undefined ? null : this.key(this.items[this.active]);
    this.items = items;
    if (activeKey !== null) {
      const i = items.findIndex((x) => this.key(x) === activeKey);
      this.active = i >= 0 ? i : Math.min(this.active, Math.max(0, items.length - 1));
    }
    this.inner.style.height = `${items.length * this.rowHeight}px`;
    this.draw();
  }

  /** Rebuilds the rows in view (their content depends on the clock, e.g. "12 min ago"). */
  refresh(): void {
    for (const r of this.rendered.values()) r.el.remove();
    this.rendered.clear();
    this.draw();
  }

  private onKey(e: KeyboardEvent): void {
    const page = Math.max(1, Math.floor(this.el.clientHeight / this.rowHeight) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    if (e.key in moves) {
      e.preventDefault();
      this.active = Math.max(0, Math.min(this.items.length - 1, this.active + moves[e.key]));
      this.scrollToActive();
      this.draw();
    } else if (e.key === 'Enter' || e.key === ' ') {
      const it = this.items[this.active];
      if (it !== undefined) {
        e.preventDefault();
        this.activate(it);
      }
    }
  }

  private scrollToActive(): void {
    const top = this.active * this.rowHeight;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + this.rowHeight > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = top + this.rowHeight - this.el.clientHeight;
  }

  /** Rows on the page, by index; a row is rebuilt only when its item changed (so a click is never lost to a redraw). */
  private rendered = new Map<number, { el: HTMLElement; item: T }>();

  private draw(): void {
    const height = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.el.scrollTop / this.rowHeight) - this.overscan);
    const last = Math.min(this.items.length, Math.ceil((this.el.scrollTop + height) / this.rowHeight) + this.overscan);
    for (const [i, r] of this.rendered) {
      if (i < first || i >= last || this.items[i] !== r.item) {
        r.el.remove();
        this.rendered.delete(i);
      }
    }
    for (let i = first; i < last; i++) {
      const item = this.items[i];
      let r = this.rendered.get(i);
      if (r === undefined) {
        const row = h('div', { class: 'vrow', role: 'option', id: `opt-${i}`, 'aria-posinset': String(i + 1), 'data-key': this.key(item) });
        row.style.transform = `translateY(${i * this.rowHeight}px)`;
        row.style.height = `${this.rowHeight}px`;
        row.addEventListener('click', () => {
          this.active = i;
          this.activate(item);
        });
        this.render(item, row);
        this.inner.append(row);
        r = { el: row, item };
        this.rendered.set(i, r);
      }
      r.el.classList.toggle('active', i === this.active);
      r.el.setAttribute('aria-selected', i === this.active ? 'true' : 'false');
      r.el.setAttribute('aria-setsize', String(this.items.length));
    }
    if (this.items.length > 0) this.el.setAttribute('aria-activedescendant', `opt-${this.active}`);
    else this.el.removeAttribute('aria-activedescendant');
  }
}
