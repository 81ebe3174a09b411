// The dependency rules of docs/architecture.md, checked on the source: geo/ is pure, the engine
// depends only on geo/, and no module imports itself back through a cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** module path (relative, .ts) → the modules it imports: relative paths resolved, packages by name. */
/** Edges `file|dep` made only of `import type` statements. */
const typeOnly = new Set<string>();
const valueEdges = new Set<string>();

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of [...sources('geo'), ...sources('src'), ...sources('workers')]) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/^(import|export)\s+(type\s)?[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[3];
      // Type-only imports vanish at run time; they are kept for the purity rules, not for cycles.
      const dep = spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') : spec;
      deps.push(dep);
      (m[2] !== undefined ? typeOnly : valueEdges).add(`${file}|${dep}`);
    }
    g.set(file, deps);
  }
  return g;
}

describe('module dependencies', () => {
  const g = graph();

  it('geo/ imports nothing but geo/ and its spatial packages', () => {
    const bad: string[] = [];
    for (const [file, deps] of g) {
      if (!file.startsWith('geo/')) continue;
      for (const d of deps) if (!(d.startsWith('geo/') || ['rbush', 'flatbush'].includes(d))) bad.push(`${file} → ${d}`);
    }
    expect(bad).toEqual([]);
  });

  it('src/engine/ imports only itself, geo/ and zod: no I/O, no service code', () => {
    const bad: string[] = [];
    for (const [file, deps] of g) {
      if (!file.startsWith('src/engine/')) continue;
      for (const d of deps) if (!(d.startsWith('src/engine/') || d.startsWith('geo/') || d === 'zod')) bad.push(`${file} → ${d}`);
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycles at run time (type-only imports aside)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 1);
      stack.push(n);
      for (const d of g.get(n) ?? []) {
        if (!g.has(d) || (typeOnly.has(`${n}|${d}`) && !valueEdges.has(`${n}|${d}`))) continue;
        const s = state.get(d);
        if (s === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].join(' → '));
        else if (s === undefined) visit(d);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const n of g.keys()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });
});
