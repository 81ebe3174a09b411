/**
 * Request-level JSON limits shared by the HTTP parser (main thread) and the bulk zone import
 * (worker thread): nesting depth before parsing, prototype-poisoning keys after.
 */

/** Nothing the API takes is deeper than ~10; very deep values would overflow the stack wherever they are walked. */
export const MAX_JSON_DEPTH = 64;

/** Deepest nesting of objects and arrays in a JSON text (strings skipped). O(n), no parsing. */
export function jsonDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/** A message when the text is nested too deeply, else null. */
export function checkJsonText(text: string): string | null {
  const depth = jsonDepth(text);
  return depth > MAX_JSON_DEPTH ? `JSON nested ${depth} levels deep; at most ${MAX_JSON_DEPTH}` : null;
}

/**
 * Whether a parsed value holds a `__proto__` key or a `constructor` object with a `prototype`
 * (what fastify's onProtoPoisoning / onConstructorPoisoning 'error' refuse). Iterative.
 */
export function poisoned(root: unknown): boolean {
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v)) {
      if (Object.hasOwn(v, '__proto__')) return true;
      const c = (v as Record<string, unknown>).constructor;
      if (Object.hasOwn(v, 'constructor') && c !== null && typeof c === 'object' && Object.hasOwn(c, 'prototype')) return true;
    }
    for (const x of Object.values(v)) if (x !== null && typeof x === 'object') stack.push(x);
  }
  return false;
}
