/**
 * A small element builder: every text goes in as a text node (never innerHTML), so nothing the
 * API returns can become markup.
 */
export type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((e: Event) => void);
export type Attrs = Record<string, AttrValue>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') {
      el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
    } else if (k === 'class') {
      el.className = String(v);
    } else if (k === 'value' && 'value' in el) {
      (el as HTMLInputElement).value = String(v);
    } else if (k === 'checked' && 'checked' in el) {
      (el as HTMLInputElement).checked = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

let idSeq = 0;
/** A unique element id (labels, aria-describedby). */
export function uid(prefix = 'id'): string {
  idSeq += 1;
  return `${prefix}-${idSeq}`;
}

/** A labelled form field: label, control, hint and an error slot tied by aria-describedby. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, opts: { hint?: string; path?: string } = {}): HTMLDivElement {
  const id = control.id === '' ? uid('f') : control.id;
  control.id = id;
  const errId = `${id}-err`;
  const hintId = `${id}-hint`;
  control.setAttribute('aria-describedby', opts.hint === undefined ? errId : `${hintId} ${errId}`);
  const wrap = h('div', { class: 'field', 'data-path': opts.path ?? null },
    h('label', { for: id }, label),
    control,
    opts.hint === undefined ? null : h('div', { class: 'hint', id: hintId }, opts.hint),
    h('div', { class: 'field-error', id: errId, role: 'alert' }),
  );
  return wrap;
}

export function setFieldError(wrap: Element, message: string | null): void {
  const err = wrap.querySelector('.field-error');
  const control = wrap.querySelector('input, select, textarea');
  if (err !== null) err.textContent = message ?? '';
  if (control !== null) {
    if (message === null) control.removeAttribute('aria-invalid');
    else control.setAttribute('aria-invalid', 'true');
  }
  wrap.classList.toggle('invalid', message !== null);
}

export function select(name: string, options: [string, string][], value: string, attrs: Attrs = {}): HTMLSelectElement {
  return h('select', { name, ...attrs }, ...options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

/** A status line for a view ("Loading…", an error, "Saved"). */
export function notice(kind: 'info' | 'error' | 'ok', text: string): HTMLParagraphElement {
  return h('p', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
