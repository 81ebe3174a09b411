// Fuzzing of the pure entry points (no I/O except the replay CLI property, which runs the built
// CLI in a child process so that a hang is caught by a timeout instead of freezing the suite).
//
// Every property draws a VALID value from generators.ts and a list of mutations (wrong types,
// NaN/Infinity, -0, 1e308, 1 MB strings, lone surrogates, RTL, NUL, deleted fields, own
// __proto__/constructor/prototype keys, 10,000-level nesting, duplicate keys, truncation, byte
// flips). Invariants:
// - only the documented error types escape (FixError, ZoneError, ConfigError); replay never throws
//   on bad fix lines and names every bad line, and only those;
// - error messages are non-empty and name the field (or line, or JSON path);
// - Object.prototype / Array.prototype are never polluted.
// Seeds are fixed and runs bounded: the same cases every time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { compileZone, ZONE_ERROR_CODES, ZoneError, type PreparedZone } from '../../geo/index.js';
import { replay } from '../../src/cli/replay.js';
import { compileConfig, compileSubject, ConfigError, SettingsSchema, SubjectSchema, fromZod } from '../../src/engine/config.js';
import { FixError, parseFix } from '../../src/engine/fix.js';
import {
  applyMutations, CONFIG_CENTRE, CONFIG_DEVICES, CONFIG_VICTIMS, configArb, fixArb, mutatedArb, mutationsArb,
  prototypeProblems, subjectArb, tryParse, zoneArb, type FixJson,
} from './generators.js';

/** Known bugs: it.fails (passes while the bug is there); FUZZ_SHOW_BUGS=1 shows them failing. */
// Bugs this suite found, fixed since; each test stays as a regression check.
const knownBug = it;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REPLAY_JS = resolve(ROOT, 'dist/src/cli/replay.js');

afterEach(() => {
  expect(prototypeProblems()).toEqual([]);
});

/** Fails the property at once if a run polluted a prototype (and names the run). */
function assertPristine(): void {
  const p = prototypeProblems();
  if (p.length > 0) throw new Error(`prototype polluted: ${p.join('; ')}`);
}

// ---------------------------------------------------------------------------------------------
// A reference reading of contract section 1, written from the contract (not from fix.ts). Where
// the contract leaves a choice the implementation's documented choice is taken: null counts as
// absent, ts as epoch ms must be in [0, 8.64e15], accuracy at most 1e6 m, fractions of a second
// at most 9 digits.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function referenceTsOk(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 && v <= 8.64e15;
  if (typeof v !== 'string') return false;
  const m = RFC3339.exec(v);
  if (m === null) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || h > 23 || mi > 59 || s > 59) return false;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return false;
  return true;
}

/** The fields the reference finds bad (empty: a valid fix). */
function referenceBadFields(v: unknown): Set<string> {
  const bad = new Set<string>();
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return new Set(['fix']);
  const o = v as Record<string, unknown>;
  const own = (k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
  const present = (k: string): boolean => own(k) !== undefined && own(k) !== null;
  const num = (k: string, lo: number, hi: number): boolean => typeof own(k) === 'number' && (own(k) as number) >= lo && (own(k) as number) <= hi;
  const dev = own('deviceId');
  if (typeof dev !== 'string' || !/^[A-Za-z0-9._:-]{1,64}$/.test(dev)) bad.add('deviceId');
  const seq = own('seq');
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > 2 ** 53 - 1) bad.add('seq');
  if (!referenceTsOk(own('ts'))) bad.add('ts');
  if (present('lat') !== present('lon')) bad.add('lat/lon');
  else if (present('lat')) {
    if (!num('lat', -90, 90)) bad.add('lat');
    if (!num('lon', -180, 180)) bad.add('lon');
  }
  if (present('accuracy') && !num('accuracy', 0, 1e6)) bad.add('accuracy');
  if (present('battery') && !num('battery', 0, 1)) bad.add('battery');
  if (present('strap') && !['ok', 'open', 'tampered'].includes(own('strap') as string)) bad.add('strap');
  return bad;
}

// ---------------------------------------------------------------------------------------------
// parseFix

describe('fuzz: parseFix', () => {
  it('accepts every generated valid fix, field for field (200 runs)', () => {
    fc.assert(fc.property(fixArb(), (f) => {
      const parsed = parseFix(JSON.parse(JSON.stringify(f)));
      expect(parsed.deviceId).toBe(f.deviceId);
      expect(parsed.seq).toBe(f.seq);
      expect(parsed.ts).toBe(typeof f.ts === 'number' ? f.ts : Date.parse(String(f.ts).replace(' ', 'T')));
      expect(parsed.hasPosition).toBe(f.lat !== undefined);
      if (f.lat !== undefined) {
        expect(parsed.lat).toBe(f.lat);
        expect(parsed.lon).toBe(f.lon);
      }
    }), { seed: 0x5eed01, numRuns: 200 });
  });

  it('on mutated JSON: a Fix the reference agrees with, or a FixError naming a bad field (800 runs)', () => {
    let parsedDocs = 0;
    fc.assert(fc.property(mutatedArb(fixArb()), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (!doc.ok) return;
      parsedDocs++;
      const expectedBad = referenceBadFields(doc.value);
      let outcome: 'accepted' | FixError;
      try {
        const fix = parseFix(doc.value);
        outcome = 'accepted';
        const o = doc.value as FixJson;
        expect(fix.deviceId).toBe(o.deviceId);
        expect(fix.seq).toBe(o.seq);
      } catch (e) {
        expect(e, `parseFix threw ${String(e)}`).toBeInstanceOf(FixError);
        outcome = e as FixError;
      }
      assertPristine();
      if (outcome === 'accepted') {
        expect([...expectedBad], 'parseFix accepted a fix the contract refuses').toEqual([]);
      } else {
        expect(outcome.message.length).toBeGreaterThan(outcome.field.length + 1);
        expect(outcome.message.startsWith(`${outcome.field} `)).toBe(true);
        expect(outcome.message.length).toBeLessThan(200);
        expect(expectedBad.has(outcome.field), `parseFix refused ${outcome.field} (${outcome.message}); the reference finds bad: ${[...expectedBad].join(', ') || 'nothing'}`).toBe(true);
      }
    }), { seed: 0x5eed02, numRuns: 800 });
    expect(parsedDocs).toBeGreaterThan(280);
  });

  it('on arbitrary JS values (objects, getters-free, null prototypes): only FixError (500 runs)', () => {
    fc.assert(fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }), (v) => {
      try {
        parseFix(v);
      } catch (e) {
        expect(e).toBeInstanceOf(FixError);
        expect((e as FixError).message).not.toBe('');
      }
      assertPristine();
    }), { seed: 0x5eed03, numRuns: 500 });
  });
});

// ---------------------------------------------------------------------------------------------
// compileZone

const ZONE_CODES = Object.keys(ZONE_ERROR_CODES);

function checkZoneOutcome(input: unknown, run: () => PreparedZone): PreparedZone | ZoneError {
  try {
    const z = run();
    const id = (input as { id: unknown }).id;
    expect(z.id).toBe(String(id));
    return z;
  } catch (e) {
    expect(e, `compileZone threw ${String(e)}`).toBeInstanceOf(ZoneError);
    const ze = e as ZoneError;
    expect(ZONE_CODES).toContain(ze.code);
    // Names the zone (or says it has none) and the fault, and carries the code.
    expect(ze.message).toMatch(/^zone ("|\(without id\))/);
    expect(ze.message.endsWith(`[${ze.code}]`)).toBe(true);
    expect(ze.message.length).toBeGreaterThan(`zone (without id):  [${ze.code}]`.length);
    return ze;
  }
}

describe('fuzz: compileZone', () => {
  it('compiles every generated valid zone (circle, polygon with hole, multipolygon) (300 runs)', () => {
    fc.assert(fc.property(zoneArb(), (f) => {
      const z = compileZone(JSON.parse(JSON.stringify(f)));
      expect(z.id).toBe(String(f.id));
    }), { seed: 0x5eed10, numRuns: 300 });
  });

  it('on mutated GeoJSON: a zone or a ZoneError with a registered code naming the zone (600 runs)', () => {
    const seen = new Map<string, number>();
    fc.assert(fc.property(mutatedArb(zoneArb()), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (!doc.ok) return;
      const r = checkZoneOutcome(doc.value, () => compileZone(doc.value));
      const key = r instanceof ZoneError ? r.code : 'accepted';
      seen.set(key, (seen.get(key) ?? 0) + 1);
      assertPristine();
    }), { seed: 0x5eed11, numRuns: 600 });
    if (process.env.FUZZ_STATS) console.log('compileZone outcomes', Object.fromEntries(seen));
    // The fuzzer reaches many different faults, not just "not a Feature".
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });

  it('on arbitrary JS values: only ZoneError (400 runs)', () => {
    fc.assert(fc.property(fc.anything({ withNullPrototype: true, withSparseArray: true, withBoxedValues: true }), (v) => {
      try {
        compileZone(v);
      } catch (e) {
        expect(e).toBeInstanceOf(ZoneError);
      }
      assertPristine();
    }), { seed: 0x5eed12, numRuns: 400 });
  });
});

// ---------------------------------------------------------------------------------------------
// Configuration: SubjectSchema + compileSubject (the HTTP path), compileConfig (the replay path)

/** "subjects[0].conditions[1].zone" -> ["subjects", 0, "conditions", 1, "zone"]. */
function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /\[(\d+)\]|\.?([^.[\]]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) out.push(m[1] !== undefined ? Number(m[1]) : m[2]);
  return out;
}

/** The path's parent exists in the input (the error points at a real place). */
function parentExists(input: unknown, segs: (string | number)[]): boolean {
  let cur: unknown = input;
  for (const s of segs.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, s)) return false;
    cur = (cur as Record<string | number, unknown>)[s];
  }
  return true;
}

const BASE_ZONES: Map<string, PreparedZone> = (() => {
  const zones = fc.sample(zoneArb({ near: CONFIG_CENTRE }), { seed: 42, numRuns: 3 });
  return new Map(zones.map((f, i) => {
    const z = compileZone({ ...f, id: `Z-${i}` });
    return [z.id, z] as const;
  }));
})();
const BASE_ZONE_IDS = [...BASE_ZONES.keys()];
const DEFAULT_SETTINGS = SettingsSchema.parse({});

describe('fuzz: subjects and configurations', () => {
  it('every generated subject is valid and compiles (200 runs)', () => {
    fc.assert(fc.property(subjectArb({ zoneIds: BASE_ZONE_IDS }), (s) => {
      const parsed = SubjectSchema.parse(JSON.parse(JSON.stringify(s)));
      compileSubject(parsed, BASE_ZONES, DEFAULT_SETTINGS, 'subject');
    }), { seed: 0x5eed20, numRuns: 200 });
  });

  it('on mutated subjects: SubjectSchema never throws; errors are ConfigErrors naming a real path (600 runs)', () => {
    fc.assert(fc.property(mutatedArb(subjectArb({ zoneIds: BASE_ZONE_IDS })), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (!doc.ok) return;
      let error: ConfigError | null = null;
      const r = SubjectSchema.safeParse(doc.value);
      if (!r.success) {
        error = fromZod(r.error, 'subject.');
      } else {
        try {
          compileSubject(r.data, BASE_ZONES, DEFAULT_SETTINGS, 'subject');
        } catch (e) {
          expect(e, `compileSubject threw ${String(e)}`).toBeInstanceOf(ConfigError);
          error = e as ConfigError;
        }
      }
      assertPristine();
      if (error === null) return;
      expect(error.path).toMatch(/^subject/);
      expect(error.message.startsWith(`${error.path}: `)).toBe(true);
      expect(error.message.length).toBeGreaterThan(error.path.length + 2);
      const segs = pathSegments(error.path.replace(/^subject\.?/, ''));
      expect(parentExists(doc.value, segs), `error path ${error.path} does not point into the input (${error.message})`).toBe(true);
    }), { seed: 0x5eed21, numRuns: 600 });
  });

  it('on mutated configurations: compileConfig throws only ConfigError, naming a real path (400 runs)', () => {
    fc.assert(fc.property(mutatedArb(configArb()), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (!doc.ok) return;
      try {
        compileConfig(doc.value);
      } catch (e) {
        expect(e, `compileConfig threw ${String(e)}`).toBeInstanceOf(ConfigError);
        const ce = e as ConfigError;
        expect(ce.path).not.toBe('');
        expect(ce.message.startsWith(`${ce.path}: `)).toBe(true);
        expect(ce.message.length).toBeGreaterThan(ce.path.length + 2);
        if (ce.path !== '(root)') {
          expect(parentExists(doc.value, pathSegments(ce.path)), `error path ${ce.path} does not point into the input (${ce.message})`).toBe(true);
        } else {
          expect(doc.value === null || typeof doc.value !== 'object' || Array.isArray(doc.value)).toBe(true);
        }
      }
      assertPristine();
    }), { seed: 0x5eed22, numRuns: 400 });
  });
});

// ---------------------------------------------------------------------------------------------
// replay(): good lines beside bad ones

/** What replay must report: the line numbers (1-based) that are not JSON or not a valid fix. */
function expectedBadLines(text: string): number[] {
  const bad: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const doc = tryParse(line);
    if (!doc.ok || referenceBadFields(doc.value).size > 0) bad.push(i + 1);
  });
  return bad;
}

const fixLineArb = fc.record({
  fix: fixArb({
    deviceIds: [...CONFIG_DEVICES, ...CONFIG_VICTIMS, 'UNKNOWN-1'],
    near: CONFIG_CENTRE,
    tsMin: Date.UTC(2026, 10, 23), tsMax: Date.UTC(2026, 10, 26),
    seq: fc.nat({ max: 200 }),
  }),
  muts: fc.option(mutationsArb({ hugeBytes: 64 * 1024 }), { freq: 3, nil: undefined }),
  blankAfter: fc.constantFrom('', '', '', '', '\n', '\r', '   '),
});

function fixesText(lines: { fix: FixJson; muts?: Parameters<typeof applyMutations>[1]; blankAfter: string }[]): string {
  return lines.map((l) => (l.muts === undefined ? JSON.stringify(l.fix) : applyMutations(l.fix, l.muts).text) + l.blankAfter).join('\n');
}

describe('fuzz: replay()', () => {
  it('never throws on bad fix lines; names exactly the bad lines; writes nothing then (150 runs)', () => {
    fc.assert(fc.property(configArb(), fc.array(fixLineArb, { minLength: 1, maxLength: 25 }), (config, lines) => {
      const text = fixesText(lines);
      const bad = expectedBadLines(text);
      const r = replay(config, text, 'fz.ndjson');
      assertPristine();
      const named = r.errors.map((e) => {
        const m = /^fz\.ndjson:(\d+): (.+)$/s.exec(e);
        expect(m, `error does not name the line: ${e.slice(0, 200)}`).not.toBeNull();
        return Number((m as RegExpExecArray)[1]);
      });
      expect(named).toEqual(bad);
      for (const w of r.warnings) expect(w).toMatch(/^fz\.ndjson:\d+: unknown device "/);
      if (bad.length > 0) {
        expect(r.output).toBeNull();
      } else {
        expect(typeof r.output).toBe('string');
        for (const l of (r.output as string).split('\n').filter((x) => x !== '')) expect(() => JSON.parse(l)).not.toThrow();
        // Deterministic: same input, same bytes.
        expect(replay(config, text, 'fz.ndjson').output).toBe(r.output);
      }
    }), { seed: 0x5eed30, numRuns: 150 });
  });
});

// ---------------------------------------------------------------------------------------------
// The replay CLI as a process: mutated configuration and fixes files. A child process with a
// timeout, so a hang in configuration compilation or replay is reported, not waited on forever.

describe.skipIf(!existsSync(REPLAY_JS))('fuzz: replay CLI (built dist/, child processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iom-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exit 0/1/2 with the documented output, never a crash or a hang (15 runs)', () => {
    const cliCase = fc.record({
      config: configArb(),
      configMuts: fc.option(mutationsArb({ hugeBytes: 256 * 1024 }), { freq: 4, nil: undefined }),
      lines: fc.array(fixLineArb, { minLength: 1, maxLength: 12 }),
    });
    let n = 0;
    fc.assert(fc.property(cliCase, ({ config, configMuts, lines }) => {
      const cfgText = configMuts === undefined ? JSON.stringify(config) : applyMutations(config, configMuts).bytes;
      const fxText = fixesText(lines);
      const cfgPath = join(dir, `c${n}.json`), fxPath = join(dir, `f${n}.ndjson`);
      n++;
      writeFileSync(cfgPath, cfgText);
      writeFileSync(fxPath, fxText);
      const p = spawnSync(process.execPath, [REPLAY_JS, '--config', cfgPath, '--fixes', fxPath], { encoding: 'utf8', timeout: 20_000, maxBuffer: 64 << 20 });
      const where = `exit ${String(p.status)} signal ${String(p.signal)} stderr: ${(p.stderr ?? '').slice(0, 600)}`;
      expect(p.error, `replay CLI did not finish (hang?): ${where}`).toBeUndefined();
      expect(p.signal, where).toBeNull();
      expect(p.stderr, `replay CLI crashed with a stack trace: ${where}`).not.toMatch(/\n\s+at /);
      const cfgDoc = tryParse(typeof cfgText === 'string' ? cfgText : cfgText.toString('utf8'));
      let configError: ConfigError | null = null;
      if (cfgDoc.ok) {
        try {
          compileConfig(cfgDoc.value);
        } catch (e) {
          configError = e as ConfigError;
        }
      }
      if (!cfgDoc.ok || configError !== null) {
        expect(p.status, where).toBe(2);
        expect(p.stdout).toBe('');
        if (configError !== null) expect(p.stderr).toContain(`replay: config ${cfgPath}: ${configError.path}: `);
        else expect(p.stderr).toContain(`replay: cannot read config ${cfgPath}`);
        return;
      }
      const bad = expectedBadLines(fxText);
      if (bad.length > 0) {
        expect(p.status, where).toBe(1);
        expect(p.stdout).toBe('');
        const named = [...p.stderr.matchAll(/^error: .*?:(\d+): /gm)].map((m) => Number(m[1]));
        expect(named).toEqual(bad.slice(0, 50));
      } else {
        expect(p.status, where).toBe(0);
        for (const l of p.stdout.split('\n').filter((x) => x !== '')) expect(() => JSON.parse(l)).not.toThrow();
      }
    }), { seed: 0x5eed40, numRuns: 15 });
  });
});

// ---------------------------------------------------------------------------------------------
// Error messages stay short whatever the input: a 1 MB value is described, never echoed (the
// HTTP API returns these messages, and the replay CLI prints them). compile-zone.ts's own
// describe() promises "never the whole payload".

const HUGE = 'x'.repeat(1 << 20);
const MAX_MESSAGE = 1024;
const circle = (id: unknown): unknown => ({ type: 'Feature', id, geometry: { type: 'Point', coordinates: [0, 51] }, properties: { radiusM: 10 } });
const curfewWith = (schedule: unknown): unknown => ({
  zones: [circle('Z')],
  subjects: [{ id: 'S', deviceId: 'D-1', team: 't', conditions: [{ id: 'c1', type: 'curfew', zone: 'Z', schedule }] }],
});
const messageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('fuzz: error messages are bounded', () => {
  it('parseFix: at most 200 characters for any mutated fix with 1 MB strings (300 runs)', () => {
    fc.assert(fc.property(mutatedArb(fixArb(), { jsonValid: true }), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (!doc.ok) return;
      try {
        parseFix(doc.value);
      } catch (e) {
        expect((e as Error).message.length).toBeLessThanOrEqual(200);
      }
    }), { seed: 0x5eed50, numRuns: 300 });
  });

  // BUG: ZoneError puts the whole id in its message (geo/compile-zone.ts: idGuess = String(f.id),
  // not describe()d): a 1 MB id gives a 1 MB message (and PUT/POST /v1/zones echo it twice, in
  // message and details.zoneId). Minimal: compileZone({type:'Feature', id:'x'.repeat(2**20),
  // geometry:null}) -> message.length 1,048,717. Expected: a bounded message (<= 1 KiB).
  knownBug('compileZone: a 1 MB id is not echoed in the ZoneError message', () => {
    const m = messageOf(() => compileZone({ type: 'Feature', id: HUGE, geometry: null }));
    expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE);
  });

  // BUG: schedule errors render the bad value with JSON.stringify (src/engine/schedule.ts show()),
  // so a 1 MB "start" or "except[].from" is echoed whole. Minimal: compileConfig(curfew with
  // schedule {windows:[{days:['mon'], start:'x'.repeat(2**20), end:'07:00'}]}) -> ConfigError
  // message.length 1,048,660. Expected: a bounded message.
  knownBug('compileConfig: a 1 MB schedule time is not echoed in the ConfigError message', () => {
    const m = messageOf(() => compileConfig(curfewWith({ windows: [{ days: ['mon'], start: HUGE, end: '07:00' }] })));
    expect(m.length).toBeLessThanOrEqual(MAX_MESSAGE);
  });

  it('compileConfig: other 1 MB strings (timezone, enum, ids) give short messages', () => {
    const subject = (over: Record<string, unknown>): unknown => ({ subjects: [{ id: 'S', deviceId: 'D-1', team: 't', ...over }] });
    for (const cfg of [subject({ timezone: HUGE }), subject({ risk: HUGE }), subject({ deviceId: HUGE }), subject({ id: HUGE }), subject({ team: HUGE })]) {
      expect(messageOf(() => compileConfig(cfg)).length).toBeLessThanOrEqual(MAX_MESSAGE);
    }
  });
});
