// Arbitraries for the fuzz suites: valid fixes, zones (circle, polygon, multipolygon) and
// subjects, and a MUTATION fuzzer that turns a valid JSON value into hostile JSON text.
//
// The mutation fuzzer works on a small tree whose leaves are raw JSON text, so that what it
// produces really is on the wire: `__proto__` / `constructor` / `prototype` become OWN keys of
// the parsed object (they are written as text, never assigned in JS), duplicate keys are real
// duplicates, 10,000 levels of nesting are 10,000 brackets, and "NaN" is the bare token NaN (so
// invalid JSON) while Infinity is `1e999` (valid JSON that parses to Infinity).
//
// Mutations are generated as small descriptors (`Mutation`) and applied by `applyMutations`, so a
// failing case is reported (and shrunk) as a short list of operations, not as a 1 MB string.
import fc from 'fast-check';
import type { FixInput } from '../../src/engine/fix.js';

// ---------------------------------------------------------------------------------------------
// A JSON document with raw-text leaves

/** A leaf: JSON text written as is (may be invalid JSON on purpose). */
export class Raw {
  constructor(readonly text: string, readonly added = false) {}
}
/** An object: an ordered list of entries (duplicates and __proto__ allowed). */
export class Obj {
  constructor(readonly entries: { key: string; value: Node; added: boolean }[] = [], readonly added = false) {}
}
export class Arr {
  constructor(readonly items: Node[], readonly added = false) {}
}
export type Node = Raw | Obj | Arr;

export function toTree(v: unknown): Node {
  if (Array.isArray(v)) return new Arr(v.map(toTree));
  if (v !== null && typeof v === 'object') {
    return new Obj(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).map(([key, x]) => ({ key, value: toTree(x), added: false })));
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return new Raw(Number.isNaN(v) ? 'NaN' : v > 0 ? '1e999' : '-1e999');
  return new Raw(JSON.stringify(v));
}

export function serialize(n: Node): string {
  if (n instanceof Raw) return n.text;
  if (n instanceof Arr) return `[${n.items.map(serialize).join(',')}]`;
  return `{${n.entries.map((e) => `${JSON.stringify(e.key)}:${serialize(e.value)}`).join(',')}}`;
}

interface Slot {
  node: Node;
  /** How to put another node in this one's place (null for the root). */
  set: ((n: Node) => void) | null;
  remove: (() => void) | null;
  /** The node or one of its ancestors was added by a mutation. */
  added: boolean;
  /** Its key in the parent object (null for array items and the root). */
  key: string | null;
}

function slots(root: Node, setRoot: (n: Node) => void): Slot[] {
  const out: Slot[] = [{ node: root, set: setRoot, remove: null, added: root.added, key: null }];
  const walk = (n: Node, added: boolean): void => {
    if (n instanceof Arr) {
      n.items.forEach((child, i) => {
        const a = added || child.added;
        out.push({
          node: child, added: a, key: null,
          // Slots are recomputed after every mutation, so positions are current.
          set: (x) => { n.items[i] = x; },
          remove: () => { n.items.splice(i, 1); },
        });
        walk(child, a);
      });
    } else if (n instanceof Obj) {
      for (const e of n.entries) {
        const a = added || e.added || e.value.added;
        out.push({
          node: e.value, added: a, key: e.key,
          set: (x) => { e.value = x; },
          remove: () => { const k = n.entries.indexOf(e); if (k >= 0) n.entries.splice(k, 1); },
        });
        walk(e.value, a);
      }
    }
  };
  walk(root, root.added);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** A value put in place of a field. Descriptors stay small; `render` makes the text. */
export type BadValue =
  | { kind: 'raw'; text: string }
  | { kind: 'huge'; bytes: number; char: string }
  | { kind: 'deep'; depth: number; shape: 'array' | 'object' };

/** JSON text that is valid JSON but the wrong type, out of range or odd. */
export const WRONG_VALUES: readonly string[] = [
  'null', 'true', 'false', '0', '-0', '-1', '1', '0.5', '1e308', '-1e308', '1e999', '-1e999', '5e-324',
  '9007199254740992', '9007199254740993', '123456789012345678901234567890', '-9007199254740993',
  '""', '" "', '"0"', '"1"', '"NaN"', '"Infinity"', '"null"', '"true"', '"ok "', '"OK"',
  '[]', '[1]', '[null]', '[[]]', '{}', '{"a":1}', '[0,51]', '{"type":"Feature"}',
  '"2026-02-30T00:00:00Z"', '"2026-11-23T25:00:00Z"', '"2026-11-23"', '"1700000000000"', '8640000000000001', '-1700000000000',
  // unicode: lone surrogates (as escapes, so the parsed string really holds them), RTL override,
  // NUL and other controls, BOM, zero-width, emoji, combining marks, a homoglyph of "ok".
  '"\\ud800"', '"\\udfff"', '"a\\udc00b"', '"\\ud83d"', '"\\u202eTAG-1"', '"TAG\\u0000-1"', '"\\u0000"',
  '"\\u0007\\u001b[31m"', '"\\ufeffok"', '"o\\u200bk"', '"😀"', '"e\\u0301"', '"\\u043ek"', '"\\n"', '"\\u2028"',
  '"__proto__"', '"constructor"', '"prototype"', '"toString"', '"hasOwnProperty"',
];
/** Text that is NOT valid JSON where a value belongs (the whole document becomes invalid). */
export const INVALID_VALUES: readonly string[] = [
  'NaN', '-NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '+1', '.5', '01', '1.', "'ok'",
  '"a\u0000b"', '"tab\there"', '"line\nbreak"', '"\\x41"', '"\\u12"', 'tru', '[1,]', '{"a":1,}', '{,}', '[,1]',
];

export function render(v: BadValue): string {
  switch (v.kind) {
    case 'raw':
      return v.text;
    case 'huge':
      return JSON.stringify(v.char.repeat(Math.max(1, Math.floor(v.bytes / Buffer.byteLength(v.char)))));
    case 'deep':
      return v.shape === 'array' ? '['.repeat(v.depth) + ']'.repeat(v.depth) : '{"a":'.repeat(v.depth) + '1' + '}'.repeat(v.depth);
  }
}

export interface MutationOptions {
  /** Only mutations after which the text is still valid JSON (no bare NaN, truncation, byte flips). */
  jsonValid?: boolean;
  /** Size of a "huge" string in bytes (default 1 MiB). */
  hugeBytes?: number;
  /** Depths for deep nesting (default 100, 1,000 and 10,000). */
  depths?: number[];
  /** Most mutations applied to one value (default 4). */
  maxOps?: number;
}

export type Mutation =
  | { op: 'replace'; at: number; value: BadValue }
  | { op: 'delete'; at: number }
  | { op: 'protoKey'; at: number; key: '__proto__' | 'constructor' | 'prototype'; payload: string }
  | { op: 'dupKey'; at: number; value: BadValue; first: boolean }
  | { op: 'truncate'; frac: number }
  | { op: 'flip'; frac: number; mask: number };

const PROTO_PAYLOADS = [
  '{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', '{"toString":"x","valueOf":1}', '"yes"', '1', 'null', '[]',
  '{"__proto__":{"polluted":"yes"}}',
];

export function badValueArb(opts: MutationOptions = {}): fc.Arbitrary<BadValue> {
  const raws = opts.jsonValid ? WRONG_VALUES : [...WRONG_VALUES, ...INVALID_VALUES];
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...raws).map((text): BadValue => ({ kind: 'raw', text })) },
    { weight: 2, arbitrary: fc.constantFrom('x', 'é', '😀', '\u202e', '0').map((char): BadValue => ({ kind: 'huge', bytes: opts.hugeBytes ?? 1 << 20, char })) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('deep' as const),
        depth: fc.constantFrom(...(opts.depths ?? [100, 1000, 10_000])),
        shape: fc.constantFrom('array' as const, 'object' as const),
      }),
    },
    // A random JSON value of the wrong kind (or sometimes the right kind with odd content).
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v): BadValue => ({ kind: 'raw', text: JSON.stringify(v) ?? 'null' })) },
  );
}

export function mutationArb(opts: MutationOptions = {}): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const treeOps: fc.Arbitrary<Mutation>[] = [
    fc.record({ op: fc.constant('replace' as const), at, value: badValueArb(opts) }),
    fc.record({ op: fc.constant('replace' as const), at, value: badValueArb(opts) }),
    fc.record({ op: fc.constant('delete' as const), at }),
    fc.record({ op: fc.constant('protoKey' as const), at, key: fc.constantFrom('__proto__' as const, 'constructor' as const, 'prototype' as const), payload: fc.constantFrom(...PROTO_PAYLOADS) }),
    fc.record({ op: fc.constant('dupKey' as const), at, value: badValueArb(opts), first: fc.boolean() }),
  ];
  if (opts.jsonValid) return fc.oneof(...treeOps);
  return fc.oneof(
    ...treeOps,
    fc.record({ op: fc.constant('truncate' as const), frac: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) }),
    fc.record({ op: fc.constant('flip' as const), frac: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), mask: fc.integer({ min: 1, max: 255 }) }),
  );
}

export function mutationsArb(opts: MutationOptions = {}): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb(opts), { minLength: 1, maxLength: opts.maxOps ?? 4 });
}

export interface Mutated {
  /** The document as text (for byte flips: decoded leniently, invalid UTF-8 as U+FFFD). */
  text: string;
  /** The exact bytes to send. */
  bytes: Buffer;
  /** A text-level mutation (truncation, byte flip) was applied. */
  textLevel: boolean;
}

export interface ApplyOptions {
  /**
   * Put deep nesting only where the ORIGINAL document had a value (never inside or in place of
   * a key a mutation added). The live-service suite uses this: a deeply nested value under an
   * extra key is a known crash (see service.test.ts) that would otherwise stop the whole run.
   */
  deepOnOriginal?: boolean;
  /** Keys never given a deeply nested value (known crashes kept out of a property's way). */
  deepNotAt?: readonly string[];
}

/** Applies the mutations in order: tree operations on the document, then text-level ones. */
export function applyMutations(value: unknown, muts: readonly Mutation[], opts: ApplyOptions = {}): Mutated {
  let root = toTree(value);
  const setRoot = (n: Node): void => { root = n; };
  const pick = <T>(list: T[], at: number): T | undefined => (list.length === 0 ? undefined : list[at % list.length]);
  for (const m of muts) {
    const all = slots(root, setRoot);
    switch (m.op) {
      case 'replace': {
        const deep = m.value.kind === 'deep';
        const candidates = all.filter((s) => !(deep && opts.deepOnOriginal && s.added) && !(deep && s.key !== null && opts.deepNotAt?.includes(s.key)));
        const s = pick(candidates, m.at);
        s?.set?.(new Raw(render(m.value), s.added));
        break;
      }
      case 'delete':
        pick(all.filter((s) => s.remove !== null), m.at)?.remove?.();
        break;
      case 'protoKey': {
        const objs = all.filter((s) => s.node instanceof Obj);
        const s = pick(objs, m.at);
        (s?.node as Obj | undefined)?.entries.splice(m.at % 2 === 0 ? 0 : (s?.node as Obj).entries.length, 0, { key: m.key, value: new Raw(m.payload, true), added: true });
        break;
      }
      case 'dupKey': {
        const entries: { obj: Obj; e: Obj['entries'][number]; added: boolean }[] = [];
        for (const s of all) if (s.node instanceof Obj) for (const e of s.node.entries) entries.push({ obj: s.node, e, added: s.added || e.added });
        const deep = m.value.kind === 'deep';
        const candidates = entries.filter((x) => !(deep && opts.deepOnOriginal && x.added) && !(deep && opts.deepNotAt?.includes(x.e.key)));
        const hit = pick(candidates, m.at);
        if (hit === undefined) break;
        const k = hit.obj.entries.indexOf(hit.e);
        // The duplicate comes after the original (JSON.parse keeps the last) or before it.
        hit.obj.entries.splice(m.first ? k : k + 1, 0, { key: hit.e.key, value: new Raw(render(m.value), true), added: hit.added });
        break;
      }
      default:
        break;
    }
  }
  let bytes = Buffer.from(serialize(root), 'utf8');
  let textLevel = false;
  for (const m of muts) {
    if (m.op === 'truncate') {
      bytes = bytes.subarray(0, Math.floor(bytes.length * m.frac));
      textLevel = true;
    } else if (m.op === 'flip' && bytes.length > 0) {
      bytes = Buffer.from(bytes);
      const i = Math.floor(bytes.length * m.frac);
      bytes[i] = bytes[i] ^ m.mask;
      textLevel = true;
    }
  }
  return { text: bytes.toString('utf8'), bytes, textLevel };
}

/** JSON.parse, or undefined when the text is not JSON. */
export function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** A value with its mutations: what fuzz properties draw. */
export function mutatedArb<T>(valid: fc.Arbitrary<T>, opts: MutationOptions = {}): fc.Arbitrary<{ base: T; muts: Mutation[] }> {
  return fc.record({ base: valid, muts: mutationsArb(opts) });
}

// ---------------------------------------------------------------------------------------------
// Prototype pollution

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const ARRAY_PROTO_KEYS = Object.getOwnPropertyNames(Array.prototype).sort().join(',');

/** Problems with the global prototypes, or [] if they are as they were at start-up. */
export function prototypeProblems(): string[] {
  const out: string[] = [];
  const probe = {} as Record<string, unknown>;
  if (probe.polluted !== undefined) out.push(`({}).polluted is ${String(probe.polluted)}`);
  if (([] as unknown as Record<string, unknown>).polluted !== undefined) out.push('[].polluted is set');
  if (Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== PROTO_KEYS) out.push('Object.prototype keys changed');
  if (Object.getOwnPropertyNames(Array.prototype).sort().join(',') !== ARRAY_PROTO_KEYS) out.push('Array.prototype keys changed');
  if (typeof Object.prototype.toString !== 'function' || typeof Object.prototype.hasOwnProperty !== 'function') out.push('Object.prototype methods replaced');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Valid fixes (contract section 1)

export const DEVICE_ID_ARB = fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/);

export interface FixOptions {
  deviceIds?: readonly string[];
  seq?: fc.Arbitrary<number>;
  /** Epoch ms range of ts. */
  tsMin?: number;
  tsMax?: number;
  /** Positions within spreadDeg of a centre (default: anywhere on Earth). */
  near?: { lat: number; lon: number; spreadDeg: number };
}

/** The wire form of a fix (contract section 1). */
export type FixJson = FixInput;

const round7 = (x: number): number => Math.round(x * 1e7) / 1e7;

export function tsText(ms: number, style: number): string | number {
  const iso = new Date(ms).toISOString();
  switch (style % 5) {
    case 0: return ms;
    case 1: return iso;
    case 2: return `${iso.slice(0, 19)}Z`;
    case 3: return `${iso.slice(0, 19)}+00:00`;
    default: return iso.replace('T', ' ').toLowerCase().replace(/z$/, 'Z');
  }
}

export function fixArb(o: FixOptions = {}): fc.Arbitrary<FixJson> {
  const tsMin = o.tsMin ?? Date.UTC(2020, 0, 1);
  const tsMax = o.tsMax ?? Date.UTC(2030, 0, 1);
  const near = o.near;
  const pos = near === undefined
    ? fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) })
    : fc.record({
      lat: fc.double({ min: near.lat - near.spreadDeg, max: near.lat + near.spreadDeg, noNaN: true }).map(round7),
      lon: fc.double({ min: near.lon - near.spreadDeg, max: near.lon + near.spreadDeg, noNaN: true }).map(round7),
    });
  return fc.record({
    deviceId: o.deviceIds === undefined ? DEVICE_ID_ARB : fc.constantFrom(...o.deviceIds),
    seq: o.seq ?? fc.oneof(fc.nat({ max: 1_000_000 }), fc.maxSafeNat()),
    ms: fc.integer({ min: tsMin, max: tsMax }),
    style: fc.nat({ max: 4 }),
    pos: fc.option(pos, { freq: 5, nil: undefined }),
    accuracy: fc.option(fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.integer({ min: 0, max: 100 })), { nil: undefined }),
    battery: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    strap: fc.option(fc.constantFrom('ok' as const, 'open' as const, 'tampered' as const), { nil: undefined }),
  }).map((r) => {
    const f: FixJson = { deviceId: r.deviceId, seq: r.seq, ts: tsText(r.ms, r.style) };
    if (r.pos !== undefined) { f.lat = r.pos.lat; f.lon = r.pos.lon; }
    if (r.accuracy !== undefined) f.accuracy = r.accuracy;
    if (r.battery !== undefined) f.battery = r.battery;
    if (r.strap !== undefined) f.strap = r.strap;
    return f;
  });
}

// ---------------------------------------------------------------------------------------------
// Valid zones (GeoJSON Features: Point + radiusM, Polygon with an optional hole, MultiPolygon)

export type Feature = {
  type: 'Feature';
  id: string | number;
  geometry: { type: 'Point'; coordinates: number[] } | { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] };
  properties: Record<string, unknown>;
};

export interface ZoneOptions {
  id?: fc.Arbitrary<string | number>;
  /** Centres within spreadDeg of this point (default: lat ±60, lon ±170). */
  near?: { lat: number; lon: number; spreadDeg: number };
  kinds?: readonly ('circle' | 'polygon' | 'multipolygon')[];
  /** Layers to choose from (default: none). */
  layers?: readonly string[];
}

const NAME_ARB = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => s.length <= 128);

/** A convex ring on a circle: corners at distinct multiples of 15°, so never collinear. */
function convexRing(lon: number, lat: number, rDeg: number, steps: number[], scale = 1): number[][] {
  const ring = steps.map((k) => {
    const a = (k * 15 * Math.PI) / 180;
    return [round7(lon + scale * rDeg * Math.cos(a)), round7(lat + scale * rDeg * Math.sin(a))];
  });
  ring.push([...ring[0]]);
  return ring;
}

export function zoneArb(o: ZoneOptions = {}): fc.Arbitrary<Feature> {
  const near = o.near;
  const centre = near === undefined
    ? fc.record({ lat: fc.double({ min: -60, max: 60, noNaN: true }), lon: fc.double({ min: -170, max: 170, noNaN: true }) })
    : fc.record({
      lat: fc.double({ min: near.lat - near.spreadDeg, max: near.lat + near.spreadDeg, noNaN: true }),
      lon: fc.double({ min: near.lon - near.spreadDeg, max: near.lon + near.spreadDeg, noNaN: true }),
    });
  const id = o.id ?? fc.oneof(fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme-ascii' }).filter((s) => s.length <= 128 && !s.includes(':')), fc.integer());
  const kinds = o.kinds ?? ['circle', 'polygon', 'multipolygon'];
  const steps = fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 3, maxLength: 12 }).map((a) => [...a].sort((x, y) => x - y));
  const props = fc.record({
    name: fc.option(NAME_ARB, { nil: undefined }),
    layer: o.layers === undefined || o.layers.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...o.layers), { nil: undefined }),
  });
  return fc.record({
    id, c: centre, kind: fc.constantFrom(...kinds), props,
    radiusM: fc.double({ min: 1, max: 100_000, noNaN: true }),
    rDeg: fc.double({ min: 0.001, max: 0.05, noNaN: true }),
    steps, steps2: steps, hole: fc.boolean(),
  }).map((r): Feature => {
    const properties: Record<string, unknown> = {};
    if (r.props.name !== undefined) properties.name = r.props.name;
    if (r.props.layer !== undefined) properties.layer = r.props.layer;
    const c = { lat: round7(r.c.lat), lon: round7(r.c.lon) };
    if (r.kind === 'circle') {
      return { type: 'Feature', id: r.id, geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: { ...properties, radiusM: r.radiusM } };
    }
    const outer = convexRing(c.lon, c.lat, r.rDeg, r.steps);
    // The hole is the same ring scaled down about the centre: inside, never touching.
    const poly = r.hole && r.steps.length >= 3 && isCentreInside(r.steps) ? [outer, convexRing(c.lon, c.lat, r.rDeg, r.steps, 0.3)] : [outer];
    if (r.kind === 'polygon') return { type: 'Feature', id: r.id, geometry: { type: 'Polygon', coordinates: poly }, properties };
    const second = [convexRing(c.lon + 3 * r.rDeg, c.lat, r.rDeg, r.steps2)];
    return { type: 'Feature', id: r.id, geometry: { type: 'MultiPolygon', coordinates: [poly, second] }, properties };
  });
}

/** The centre is strictly inside the convex ring iff no gap between corners reaches 180°. */
function isCentreInside(steps: number[]): boolean {
  for (let i = 0; i < steps.length; i++) {
    const next = i + 1 < steps.length ? steps[i + 1] : steps[0] + 24;
    if (next - steps[i] >= 12) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Valid subjects (with conditions naming the given zones)

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HHMM = fc.record({ h: fc.integer({ min: 0, max: 23 }), m: fc.constantFrom(0, 15, 30, 45, 59) })
  .map(({ h, m }) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

export function scheduleArb(): fc.Arbitrary<Record<string, unknown>> {
  const t0 = Date.UTC(2026, 0, 1);
  return fc.record({
    windows: fc.array(fc.record({ days: fc.subarray([...WEEKDAYS], { minLength: 1 }), start: HHMM, end: HHMM }), { minLength: 1, maxLength: 3 }),
    except: fc.option(fc.array(
      fc.record({ from: fc.integer({ min: 0, max: 400 * 86_400 }), len: fc.integer({ min: 60, max: 5 * 86_400 }) })
        .map(({ from, len }) => ({ from: new Date(t0 + from * 1000).toISOString(), to: new Date(t0 + (from + len) * 1000).toISOString() })),
      { maxLength: 2 },
    ), { nil: undefined }),
  }).map((s) => (s.except === undefined ? { windows: s.windows } : s));
}

export interface SubjectOptions {
  id?: fc.Arbitrary<string>;
  deviceId?: fc.Arbitrary<string>;
  /** Zones the conditions may name (none: proximity conditions only). */
  zoneIds: readonly string[];
  victimDeviceIds?: readonly string[];
  teams?: readonly string[];
}

const TIMEZONES = ['Europe/London', 'UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham'];

export function conditionArb(zoneIds: readonly string[], victims: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const metres = fc.double({ min: 0, max: 2000, noNaN: true });
  const common = { hysteresisM: opt(metres), dwellS: opt(fc.integer({ min: 0, max: 600 })) };
  const proximity = fc.record({
    type: fc.constant('proximity'), ...common,
    victimDeviceId: fc.constantFrom(...(victims.length > 0 ? victims : ['VIC-1'])),
    distanceM: fc.double({ min: 1, max: 1000, noNaN: true }),
    extra: opt(fc.double({ min: 1, max: 1000, noNaN: true })),
  }).map(({ extra, ...c }) => (extra === undefined ? c : { ...c, warnM: c.distanceM + extra }));
  if (zoneIds.length === 0) return proximity.map(strip);
  const zone = fc.constantFrom(...zoneIds);
  const exclusion = fc.record({ type: fc.constant('exclusion'), ...common, zone, bufferM: opt(metres), schedule: opt(scheduleArb()) });
  const curfew = fc.record({ type: fc.constant('curfew'), ...common, zone, graceS: opt(fc.integer({ min: 0, max: 3600 })), schedule: scheduleArb() });
  return fc.oneof(exclusion, curfew, proximity).map(strip);
}

function strip<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function subjectArb(o: SubjectOptions): fc.Arbitrary<Record<string, unknown>> {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  const t0 = Date.UTC(2025, 0, 1);
  return fc.record({
    // Valid ids: ":" is the episode-id separator, so it is refused (security wave 2).
    id: o.id ?? fc.string({ minLength: 1, maxLength: 128, unit: 'grapheme-ascii' }).filter((s) => s.length <= 128 && !s.includes(':')),
    deviceId: o.deviceId ?? DEVICE_ID_ARB,
    team: fc.constantFrom(...(o.teams ?? ['iom-north', 'iom-south', 'x'])),
    cohort: opt(fc.constantFrom('fixed', 'flex', 'free')),
    risk: opt(fc.constantFrom('low', 'medium', 'high', 'very_high')),
    mappaLevel: opt(fc.integer({ min: 1, max: 3 })),
    wisdom: opt(fc.boolean()),
    domesticAbuse: opt(fc.boolean()),
    timezone: opt(fc.constantFrom(...TIMEZONES)),
    validity: opt(fc.record({ from: fc.integer({ min: 0, max: 1000 }), len: fc.integer({ min: 1, max: 1000 }) })),
    status: opt(fc.constantFrom('active', 'suspended')),
    conditions: fc.array(conditionArb(o.zoneIds, o.victimDeviceIds ?? ['VIC-1', 'VIC-2']), { maxLength: 3 }),
  }).map(({ validity, conditions, ...s }) => strip({
    ...s,
    ...(validity === undefined ? {} : {
      validFrom: new Date(t0 + validity.from * 86_400_000).toISOString(),
      validTo: t0 + (validity.from + validity.len) * 86_400_000,
    }),
    conditions: conditions.map((c, i) => ({ id: `c${i + 1}`, ...c })),
  }));
}

// ---------------------------------------------------------------------------------------------
// Valid configurations (contract section 2)

export const CONFIG_DEVICES = ['DEV-0', 'DEV-1', 'DEV-2'] as const;
export const CONFIG_VICTIMS = ['VIC-1', 'VIC-2'] as const;

export function settingsArb(): fc.Arbitrary<Record<string, unknown>> {
  const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
  return fc.record({
    batteryLowBelow: opt(fc.double({ min: 0, max: 1, noNaN: true })),
    noFixAfterS: opt(fc.integer({ min: 1, max: 86_400 })),
    offlineAfterS: opt(fc.integer({ min: 1, max: 86_400 })),
    defaultAccuracyM: opt(fc.double({ min: 0, max: 500, noNaN: true })),
    hysteresisM: opt(fc.double({ min: 0, max: 100, noNaN: true })),
    victimStaleS: opt(fc.integer({ min: 1, max: 3600 })),
  }).map(strip);
}

export const CONFIG_CENTRE = { lat: 51.5, lon: -0.12, spreadDeg: 0.05 };

export function configArb(): fc.Arbitrary<Record<string, unknown>> {
  return fc.integer({ min: 1, max: 3 }).chain((nZones) => {
    const zoneIds = Array.from({ length: nZones }, (_, i) => `Z-${i}`);
    return fc.record({
      settings: settingsArb(),
      zones: fc.tuple(...zoneIds.map((id) => zoneArb({ id: fc.constant(id), near: CONFIG_CENTRE }))),
      subjects: fc.tuple(...CONFIG_DEVICES.map((dev, i) => subjectArb({
        id: fc.constant(`S-${i}`), deviceId: fc.constant(dev), zoneIds, victimDeviceIds: CONFIG_VICTIMS,
      }))),
    });
  });
}
