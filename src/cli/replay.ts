#!/usr/bin/env node
/**
 * Deterministic replay (contract section 4): a configuration and an NDJSON file of fixes in,
 * alert events as NDJSON on stdout. Same input, same output, byte for byte.
 *
 * Order: fixes are replayed in event time across devices while each device's own fixes keep
 * their order in the file (a k-way merge on ts, ties by deviceId). Per-device order is what
 * decides `late`, so it is kept; the interleaving between devices carries no information (two
 * monitoring centres' uploads race), so any per-device-order-preserving shuffle of the file
 * gives the same output. The clock is the latest fix time seen.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileConfig, ConfigError } from '../engine/config.js';
import { Engine } from '../engine/engine.js';
import { Fix, FixError, parseFix } from '../engine/fix.js';
import { SeqSet } from '../engine/seq-set.js';

const USAGE = `Usage: npm run replay -- --config scenario.json --fixes fixes.ndjson

Replays tag fixes against a configuration and writes the alert events (episodes opened,
updated, closed) to stdout as NDJSON, one JSON object per line. Deterministic: the same input
gives the same output, byte for byte.

  --config FILE   configuration JSON: {"settings":{...},"zones":[...],"subjects":[...]}
  --fixes FILE    fixes, one JSON object per line ("-" reads standard input)
  --help          this text

Exit status: 0 on success (fixes from unknown devices are reported on stderr and skipped),
1 when a line of the fixes file is bad (every bad line is named on stderr; nothing is written
to stdout), 2 when the arguments or the configuration are bad.`;

const MAX_REPORTED = 50;

export interface ReplayResult {
  /** NDJSON lines (each ends with \n), or null when the input had errors. */
  output: string | null;
  errors: string[];
  warnings: string[];
  fixes: number;
  alerts: number;
}

/** Replays in memory; the CLI and the tests share it. */
export function replay(configJson: unknown, fixesText: string, fixesName = 'fixes'): ReplayResult {
  const config = compileConfig(configJson);
  const engine = new Engine(config, { clock: 'fixes' });
  const errors: string[] = [];
  const warnings: string[] = [];

  // Parse and validate every line before replaying any: bad input writes nothing.
  const fixes: Fix[] = [];
  const lines: number[] = [];
  const slots: number[] = [];
  const seen = new Map<string, SeqSet>();
  let lineNo = 0;
  let start = 0;
  while (start <= fixesText.length) {
    let end = fixesText.indexOf('\n', start);
    if (end === -1) end = fixesText.length;
    lineNo++;
    const line = fixesText.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      errors.push(`${fixesName}:${lineNo}: not valid JSON (${(e as Error).message})`);
      continue;
    }
    try {
      const fix = parseFix(value);
      // The device's slot, resolved once here: the replay loop never looks a device up by id.
      const slot = engine.deviceSlot(fix.deviceId);
      if (slot < 0) {
        warnings.push(`${fixesName}:${lineNo}: unknown device ${JSON.stringify(fix.deviceId)}: no subject wears it and no condition watches it; skipped`);
        continue;
      }
      // A repeat of (deviceId, seq) changes nothing: drop it before ordering, so that its
      // (possibly altered) ts cannot move the device's place in the replay order either.
      let seqs = seen.get(fix.deviceId);
      if (seqs === undefined) seen.set(fix.deviceId, (seqs = new SeqSet()));
      if (!seqs.add(fix.seq)) continue;
      fixes.push(fix);
      slots.push(slot);
      lines.push(lineNo);
    } catch (e) {
      if (!(e instanceof FixError)) throw e;
      errors.push(`${fixesName}:${lineNo}: ${e.message}`);
    }
  }
  if (errors.length > 0) return { output: null, errors, warnings, fixes: fixes.length, alerts: 0 };

  const out: string[] = [];
  let alerts = 0;
  for (const i of eventTimeOrder(fixes)) {
    engine.ingestAt(slots[i], fixes[i]);
    for (const e of engine.drain()) {
      out.push(JSON.stringify(e));
      alerts++;
    }
  }
  engine.flush();
  for (const e of engine.drain()) {
    out.push(JSON.stringify(e));
    alerts++;
  }
  return { output: out.length === 0 ? '' : `${out.join('\n')}\n`, errors, warnings, fixes: fixes.length, alerts };
}

/**
 * Indices of fixes in replay order: repeatedly take the device whose next fix (in file order)
 * has the smallest ts, ties broken by deviceId. A binary heap of devices keeps it O(n log d).
 */
export function eventTimeOrder(fixes: readonly Fix[]): Int32Array {
  const queues = new Map<string, number[]>();
  for (let i = 0; i < fixes.length; i++) {
    const q = queues.get(fixes[i].deviceId);
    if (q === undefined) queues.set(fixes[i].deviceId, [i]);
    else q.push(i);
  }
  const heads = [...queues.values()];
  const pos = new Int32Array(heads.length);
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => {
    const fa = fixes[heads[a][pos[a]]], fb = fixes[heads[b][pos[b]]];
    return fa.ts < fb.ts || (fa.ts === fb.ts && fa.deviceId < fb.deviceId);
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let q = 0; q < heads.length; q++) heap.push(q);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  const order = new Int32Array(fixes.length);
  let n = 0;
  while (heap.length > 0) {
    const q = heap[0];
    order[n++] = heads[q][pos[q]++];
    if (pos[q] === heads[q].length) {
      const last = heap.pop() as number;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(0);
  }
  return order;
}

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({ args: argv, options: { config: { type: 'string' }, fixes: { type: 'string' }, help: { type: 'boolean' } } });
  } catch (e) {
    process.stderr.write(`replay: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { config: configPath, fixes: fixesPath } = args.values;
  if (configPath === undefined || fixesPath === undefined) {
    process.stderr.write(`replay: --config and --fixes are both required\n\n${USAGE}\n`);
    return 2;
  }
  let configJson: unknown;
  try {
    configJson = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    process.stderr.write(`replay: cannot read config ${configPath}: ${(e as Error).message}\n`);
    return 2;
  }
  let fixesText: string;
  try {
    fixesText = readFileSync(fixesPath === '-' ? 0 : fixesPath, 'utf8');
  } catch (e) {
    process.stderr.write(`replay: cannot read fixes ${fixesPath}: ${(e as Error).message}\n`);
    return 2;
  }
  let result: ReplayResult;
  try {
    result = replay(configJson, fixesText, fixesPath === '-' ? 'stdin' : fixesPath);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`replay: config ${configPath}: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  for (const w of result.warnings.slice(0, MAX_REPORTED)) process.stderr.write(`warning: ${w}\n`);
  if (result.warnings.length > MAX_REPORTED) process.stderr.write(`warning: … and ${result.warnings.length - MAX_REPORTED} more skipped lines\n`);
  if (result.output === null) {
    for (const e of result.errors.slice(0, MAX_REPORTED)) process.stderr.write(`error: ${e}\n`);
    if (result.errors.length > MAX_REPORTED) process.stderr.write(`error: … and ${result.errors.length - MAX_REPORTED} more bad lines\n`);
    process.stderr.write(`replay: ${result.errors.length} bad line(s); no alerts written\n`);
    return 1;
  }
  process.stdout.write(result.output);
  return 0;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
