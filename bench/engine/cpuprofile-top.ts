/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): functions by self time, and by total time for
 * frames under a given function name (default Engine.ingest), so a profile can be read in a
 * terminal.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/engine/run.js
 *   node dist/bench/engine/cpuprofile-top.js /tmp/prof/CPU.*.cpuprofile [top=30] [root=ingest]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  /** Samples by source line (1-based), when V8 recorded them. */
  positionTicks?: { line: number; ticks: number }[];
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

function label(n: Node): string {
  const f = n.callFrame;
  const file = f.url.replace(/^.*\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

function main(): void {
  const [path, topArg, rootArg] = process.argv.slice(2);
  if (path === undefined) {
    process.stderr.write('usage: cpuprofile-top.js FILE.cpuprofile [top] [rootFunctionName]\n');
    process.exitCode = 2;
    return;
  }
  const top = Number(topArg ?? 30);
  const rootName = rootArg ?? 'ingest';
  const prof = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map<number, Node>();
  const parent = new Map<number, number>();
  for (const n of prof.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    total += dt;
    selfUs.set(prof.samples[i]!, (selfUs.get(prof.samples[i]!) ?? 0) + dt);
  }
  // Self time by function (merging nodes of the same frame).
  const self = new Map<string, number>();
  const underRoot = new Map<string, number>();
  let rootTotal = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const key = label(n);
    self.set(key, (self.get(key) ?? 0) + us);
    // Is this sample under the root function?
    let p: number | undefined = id;
    let inRoot = false;
    while (p !== undefined) {
      if (byId.get(p)!.callFrame.functionName === rootName) {
        inRoot = true;
        break;
      }
      p = parent.get(p);
    }
    if (inRoot) {
      rootTotal += us;
      underRoot.set(key, (underRoot.get(key) ?? 0) + us);
    }
  }
  const show = (m: Map<string, number>, denom: number, title: string): void => {
    console.log(`\n${title} (${(denom / 1e6).toFixed(2)} s)`);
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, us] of rows) console.log(`${((100 * us) / denom).toFixed(1).padStart(6)} %  ${(us / 1e3).toFixed(0).padStart(8)} ms  ${k}`);
  };
  show(self, total, 'self time, whole profile');
  if (rootTotal > 0) show(underRoot, rootTotal, `self time of frames under ${rootName}()`);

  // Hot lines of the top functions under the root (ticks by source line of the compiled JS).
  const lines = new Map<string, Map<number, number>>();
  for (const n of prof.nodes) {
    if (n.positionTicks === undefined) continue;
    const key = label(n);
    let m = lines.get(key);
    if (m === undefined) lines.set(key, (m = new Map()));
    for (const pt of n.positionTicks) m.set(pt.line, (m.get(pt.line) ?? 0) + pt.ticks);
  }
  const topFns = [...(rootTotal > 0 ? underRoot : self).entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
  for (const [fn] of topFns) {
    const m = lines.get(fn);
    if (m === undefined) continue;
    const sum = [...m.values()].reduce((a, b) => a + b, 0);
    const url = prof.nodes.find((n) => label(n) === fn)?.callFrame.url.replace(/^file:\/\//, '');
    let src: string[] = [];
    try {
      if (url !== undefined) src = readFileSync(url, 'utf8').split('\n');
    } catch {
      src = [];
    }
    console.log(`\nhot lines of ${fn} (${sum} ticks)`);
    for (const [line, ticks] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`${((100 * ticks) / sum).toFixed(1).padStart(6)} %  line ${String(line).padStart(5)}  ${(src[line - 1] ?? '').trim().slice(0, 110)}`);
    }
  }
}

main();
