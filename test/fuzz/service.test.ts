// Fuzzing of the live service: REAL Redis, the service in-process on port 0 with its own key
// prefix, WebSocket ingest and the HTTP API fed valid data mixed with mutated data and garbage.
// Invariants: every reply is well-formed; every error is a 4xx {code, message} with a code from
// API_ERRORS (never a 500, never a hang, never a crash); good data beside bad data is kept (acked
// and in the trail; accepted and queryable); every bad item is named by its index; a connection
// stays usable after an error; the service still answers /readyz afterwards, with a sane heap,
// and everything it accepted is still there after a restart.
//
// Known bugs found by this suite are at the end, each as `knownBug` (it.fails) with its minimal
// reproduction. Run with FUZZ_SHOW_BUGS=1 to see them fail with their messages. Where a known
// bug would stop a property at its first run, that property's generator steers around that one
// input (documented at the option: `deepNotAt`, `deepOnOriginal`, ids <= 100 characters), so the
// property still searches for everything else.
import { poisoned } from '../../src/server/json-guard.js';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZONE_ERROR_CODES } from '../../geo/index.js';
import type { Service } from '../../src/server/service.js';
import { jsonDepth } from '../../src/server/http.js';
import { API_ERRORS } from '../../src/server/errors.js';
import {
  applyMutations, fixArb, mutationsArb, subjectArb, tryParse, zoneArb, type Feature, type FixJson,
} from './generators.js';
import {
  call, checkApiError, cleanupPrefix, distBuilt, Ingest, spawnService, startFuzzService, TEAM, uniquePrefix,
  type CallOptions, type IngestReply, type Res, type TokenName,
} from '../support/fuzz-service.js';

// Bugs this suite found, fixed since; each test stays as a regression check.
const knownBug = it;

const MAX_ITEMS = 50;
const MAX_BYTES = 64 * 1024;
const LONDON = { lat: 51.505, lon: -0.125, spreadDeg: 0.02 };
const DEVICES = ['TAG-FZ-0', 'TAG-FZ-1', 'TAG-FZ-2', 'TAG-FZ-3'];
const subjectOfDevice = (d: string): string => `S-FZ-${d.slice('TAG-FZ-'.length)}`;
const ZONE_CODES = Object.keys(ZONE_ERROR_CODES);
const OUTCOMES = ['no_action', 'warning', 'positive_action_letter', 'breach', 'recall', 'arrest'] as const;

const rect = (id: string, lon0: number, lat0: number, lon1: number, lat1: number): Feature => ({
  type: 'Feature', id,
  geometry: { type: 'Polygon', coordinates: [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]] },
  properties: { name: id },
});
const HOME = rect('Z-FZ-HOME', -0.13, 51.5, -0.12, 51.51);
const CIRCLE: Feature = { type: 'Feature', id: 'Z-FZ-CIRCLE', geometry: { type: 'Point', coordinates: [-0.1, 51.52] }, properties: { radiusM: 60 } };
const exclusionSubject = (id: string, deviceId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id, deviceId, team: TEAM, risk: 'high', conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-FZ-HOME', bufferM: 100 }], ...extra,
});
const insideFix = (deviceId: string, seq: number): FixJson => ({
  deviceId, seq, ts: new Date(Date.now() - 30_000).toISOString(), lat: 51.505, lon: -0.125, accuracy: 5,
});

/** Ids with a lone surrogate cannot be put in a URL (and are a known bug of their own). */
const wellFormed = (s: string): boolean => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const addressable = (id: string): boolean => wellFormed(id) && id.length > 0 && id.length <= 100;
/** JSON equality, ignoring key order and -0 vs 0 (the wire cannot tell them apart either). */
const wire = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(wire(a), wire(b));

describe('fuzz: live service (real Redis)', () => {
  let prefix: string;
  let service: Service;
  let url: string;
  let ingest: Ingest;
  let episodeId: string;
  let heapAtStart: number;
  let seq = 1_000;
  const nextSeq = (): number => seq++;

  const http = (method: string, path: string, o: CallOptions = {}): Promise<Res> => call(url, method, path, o);
  const putJson = (path: string, body: unknown): Promise<Res> => http('PUT', path, { body: JSON.stringify(body) });
  const trailSeqs = async (subjectId: string): Promise<Set<number>> => {
    const r = await http('GET', `/v1/subjects/${encodeURIComponent(subjectId)}/trail?limit=50000`);
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    return new Set((r.json as { features: { properties: { seq: number } }[] }).features.map((f) => f.properties.seq));
  };
  /** A valid fix must be acknowledged on this connection (it is still usable). */
  const expectUsable = async (): Promise<void> => {
    const f = insideFix(DEVICES[0], nextSeq());
    const reply = await ingest.send(JSON.stringify(f));
    expect(reply, 'connection not usable after the previous message').toEqual({ ack: [[f.deviceId, f.seq]] });
  };
  const reconnect = async (): Promise<void> => {
    if (ingest.open) await ingest.close();
    ingest = await Ingest.connect(url);
  };

  beforeAll(async () => {
    heapAtStart = process.memoryUsage().heapUsed;
    prefix = uniquePrefix();
    service = await startFuzzService(prefix, { ingestMaxItems: MAX_ITEMS, ingestMaxMessageBytes: MAX_BYTES });
    url = service.url;
    for (const z of [HOME, CIRCLE]) expect((await putJson(`/v1/zones/${String(z.id)}`, z)).status).toBe(200);
    for (const d of DEVICES) expect((await putJson(`/v1/subjects/${subjectOfDevice(d)}`, exclusionSubject(subjectOfDevice(d), d))).status).toBe(200);
    expect((await putJson('/v1/subjects/S-ACK', exclusionSubject('S-ACK', 'TAG-ACK'))).status).toBe(200);
    ingest = await Ingest.connect(url);
    // An open episode to acknowledge: S-ACK inside its exclusion zone.
    expect(await ingest.send(JSON.stringify(insideFix('TAG-ACK', 1)))).toEqual({ ack: [['TAG-ACK', 1]] });
    const alerts = await http('GET', '/v1/alerts?state=open');
    const ep = (alerts.json as { alerts: { episodeId: string; subjectId: string }[] }).alerts.find((a) => a.subjectId === 'S-ACK');
    expect(ep).toBeDefined();
    episodeId = (ep as { episodeId: string }).episodeId;
  });

  afterAll(async () => {
    await ingest?.close().catch(() => undefined);
    await service?.stop();
    if (prefix !== undefined) await cleanupPrefix(prefix);
  });

  // -------------------------------------------------------------------------------------------
  // WebSocket ingest

  /** Checks a per-item reply against the message as the server parsed it; returns the acked pairs. */
  function checkItemReply(reply: IngestReply, values: unknown[], goodIdx: number[], what: string): [string, number][] {
    const show = `${what}\nreply: ${JSON.stringify(reply).slice(0, 1500)}`;
    expect(reply.error, show).toBeUndefined();
    expect(Array.isArray(reply.ack), show).toBe(true);
    const errors = (reply.errors ?? []) as { index: unknown; deviceId?: unknown; seq?: unknown; error: unknown }[];
    expect(Array.isArray(errors), show).toBe(true);
    const named = new Set<number>();
    let last = -1;
    for (const e of errors) {
      expect(Number.isInteger(e.index) && (e.index as number) > last && (e.index as number) < values.length, `bad index in ${show}`).toBe(true);
      last = e.index as number;
      named.add(last);
      expect(typeof e.error === 'string' && e.error.length > 0, `empty error in ${show}`).toBe(true);
      const item = values[last] as Record<string, unknown> | null;
      if (e.deviceId !== undefined) expect(e.deviceId, show).toBe(item?.deviceId);
      if (e.seq !== undefined) expect(same(e.seq, item?.seq), show).toBe(true);
    }
    for (const i of goodIdx) expect(named.has(i), `a valid fix (index ${i}) was refused: ${show}`).toBe(false);
    const expected = values.flatMap((v, i) => (named.has(i) ? [] : [[(v as FixJson).deviceId, (v as FixJson).seq]]));
    expect(same(reply.ack, expected), `ack does not list exactly the unnamed items in order: ${show}`).toBe(true);
    return reply.ack as [string, number][];
  }

  async function checkInTrail(acked: [string, number][], what: string): Promise<void> {
    const byDevice = new Map<string, number[]>();
    for (const [d, s] of acked) byDevice.set(d, [...(byDevice.get(d) ?? []), s]);
    for (const [d, seqs] of byDevice) {
      const subject = d === 'TAG-ACK' ? 'S-ACK' : subjectOfDevice(d);
      const inTrail = await trailSeqs(subject);
      for (const s of seqs) expect(inTrail.has(s), `${d} seq ${s} was acked but is not in the trail of ${subject} (${what})`).toBe(true);
    }
  }

  it('WS: mixed messages: every valid fix is acked and lands in the trail, every bad item is named by index (60 runs)', async () => {
    const now = Date.now();
    const itemArb = fc.record({
      fix: fixArb({ deviceIds: DEVICES, near: LONDON, tsMin: now - 2 * 86_400_000, tsMax: now - 60_000, seq: fc.constant(0) }),
      muts: fc.option(mutationsArb({ jsonValid: true, hugeBytes: 4096 }), { freq: 2, nil: undefined }),
    });
    let oversize = 0, withErrors = 0, acked = 0;
    await fc.assert(fc.asyncProperty(fc.array(itemArb, { minLength: 1, maxLength: 12 }), fc.boolean(), async (items, bare) => {
      const built = items.map(({ fix, muts }) => {
        const f = { ...fix, seq: nextSeq() };
        return { f, text: muts === undefined ? JSON.stringify(f) : applyMutations(f, muts).text, good: muts === undefined };
      });
      const single = bare && built.length === 1;
      const text = single ? built[0].text : `[${built.map((b) => b.text).join(',')}]`;
      const what = `message: ${text.slice(0, 1500)}`;
      if (Buffer.byteLength(text) > MAX_BYTES) {
        oversize++;
        const err = await ingest.send(text).then(() => null, (e: Error & { closeCode?: number }) => e);
        expect(err?.closeCode, `oversize message not closed with 1009: ${what}`).toBe(1009);
        await reconnect();
        return;
      }
      const parsed = JSON.parse(text) as unknown;
      const values = Array.isArray(parsed) ? parsed : [parsed];
      // Item i of the message is built[i] unless a lone item was itself mutated into an array.
      const goodIdx = single && Array.isArray(parsed) ? [] : built.flatMap((b, i) => (b.good ? [i] : []));
      const reply = await ingest.send(text);
      const ack = checkItemReply(reply, values, goodIdx, what);
      if (reply.errors !== undefined) withErrors++;
      acked += ack.length;
      await checkInTrail(ack, what);
    }), { seed: 0xf0221, numRuns: 60 });
    await expectUsable();
    if (process.env.FUZZ_STATS) console.log('WS mixed', { oversize, withErrors, acked });
    expect(withErrors).toBeGreaterThan(10);
    expect(acked).toBeGreaterThan(60);
    expect(ingest.malformed).toEqual([]);
  });

  it('WS: whole-message garbage gets {"error"} (or a close for oversize / invalid UTF-8) and the connection stays usable (60 runs)', async () => {
    const now = Date.now();
    const fixes = (min: number, max: number) => fc.array(fixArb({ deviceIds: DEVICES, near: LONDON, tsMin: now - 86_400_000, tsMax: now - 60_000, seq: fc.constant(0) }), { minLength: min, maxLength: max });
    const garbage = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('mutated' as const), fixes: fixes(1, 5), muts: mutationsArb({ hugeBytes: 96 * 1024 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('binary' as const), fixes: fixes(1, 3) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tooMany' as const), extra: fc.integer({ min: 1, max: 150 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.constantFrom(1000, 10_000), shape: fc.constantFrom('array', 'object') }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('deepExtra' as const), depth: fc.constantFrom(1000, 10_000) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('nul' as const), at: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('literal' as const), text: fc.constantFrom('', ' ', 'null', '0', '-0', '1e999', '"x"', 'true', '[]', '{}', '[[]]', '[null]', '\u0000', '\ufeff[]', '[1,]', '{"deviceId":', 'NaN', '[' + '1,'.repeat(60) + '1]') }) },
    );
    const stats = new Map<string, number>();
    await fc.assert(fc.asyncProperty(garbage, async (g) => {
      let data: Buffer;
      let binary = false;
      let mustBeStored: [string, number][] = [];
      let mustNotBeStored: [string, number][] = [];
      switch (g.kind) {
        case 'mutated': {
          const fs = g.fixes.map((f) => ({ ...f, seq: nextSeq() }));
          data = applyMutations(fs, g.muts).bytes;
          break;
        }
        case 'binary': {
          const fs = g.fixes.map((f) => ({ ...f, seq: nextSeq() }));
          mustNotBeStored = fs.map((f) => [f.deviceId, f.seq]);
          data = Buffer.from(JSON.stringify(fs));
          binary = true;
          break;
        }
        case 'tooMany': {
          const fs = Array.from({ length: MAX_ITEMS + g.extra }, () => insideFix(DEVICES[1], nextSeq()));
          mustNotBeStored = fs.map((f) => [f.deviceId, f.seq]);
          data = Buffer.from(JSON.stringify(fs));
          break;
        }
        case 'deep':
          data = Buffer.from(g.shape === 'array' ? '['.repeat(g.depth) + ']'.repeat(g.depth) : '{"a":'.repeat(g.depth) + '1' + '}'.repeat(g.depth));
          break;
        case 'deepExtra': {
          // A valid fix with a deeply nested extra field: the fix is good, the extra is ignored.
          const f = insideFix(DEVICES[2], nextSeq());
          mustBeStored = [[f.deviceId, f.seq]];
          data = Buffer.from(`${JSON.stringify(f).slice(0, -1)},"extra":${'['.repeat(g.depth)}${']'.repeat(g.depth)}}`);
          break;
        }
        case 'nul': {
          const f = JSON.stringify(insideFix(DEVICES[3], nextSeq()));
          const i = g.at % (f.length + 1);
          data = Buffer.from(`${f.slice(0, i)}\u0000${f.slice(i)}`);
          break;
        }
        case 'literal':
          data = Buffer.from(g.text);
          break;
      }
      stats.set(g.kind, (stats.get(g.kind) ?? 0) + 1);
      const what = `${g.kind} message (${data.length} bytes): ${data.toString('utf8').slice(0, 600)}`;
      let validUtf8 = true;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(data);
      } catch {
        validUtf8 = false;
      }
      if (data.length > MAX_BYTES || (!binary && !validUtf8)) {
        const err = await ingest.send(data, { binary }).then(() => null, (e: Error & { closeCode?: number }) => e);
        expect(err?.closeCode, `expected close ${data.length > MAX_BYTES ? 1009 : 1007}: ${what}`).toBe(data.length > MAX_BYTES ? 1009 : 1007);
        await reconnect();
        await expectUsable();
        return;
      }
      const reply = await ingest.send(data, { binary });
      const text = data.toString('utf8');
      const doc = binary ? { ok: false as const } : tryParse(text);
      const values = doc.ok ? (Array.isArray(doc.value) ? doc.value : [doc.value]) : [];
      if (!doc.ok || values.length > MAX_ITEMS) {
        expect(reply.ack, `whole-message error expected: ${what}\nreply: ${JSON.stringify(reply).slice(0, 500)}`).toBeUndefined();
        expect(typeof reply.error === 'string' && reply.error.length > 0, `whole-message error expected: ${what}`).toBe(true);
        if (values.length > MAX_ITEMS) expect(reply.error).toContain(`at most ${MAX_ITEMS}`);
      } else {
        const ack = checkItemReply(reply, values, mustBeStored.length > 0 ? [0] : [], what);
        await checkInTrail(ack, what);
      }
      for (const [d, s] of mustNotBeStored) expect((await trailSeqs(subjectOfDevice(d))).has(s), `${d} ${s} stored from a refused message`).toBe(false);
      await checkInTrail(mustBeStored, what);
      await expectUsable();
    }), { seed: 0xf0222, numRuns: 60 });
    if (process.env.FUZZ_STATS) console.log('WS garbage', Object.fromEntries(stats));
    expect(stats.size).toBeGreaterThanOrEqual(6);
    expect(ingest.malformed).toEqual([]);
  });

  it('WS: an oversize message closes that connection with 1009; other connections and the API keep working', async () => {
    const other = await Ingest.connect(url);
    const victim = await Ingest.connect(url);
    const err = await victim.send('x'.repeat(MAX_BYTES + 10)).then(() => null, (e: Error & { closeCode?: number }) => e);
    expect(err?.closeCode).toBe(1009);
    expect((await victim.closed).code).toBe(1009);
    const f = insideFix(DEVICES[1], nextSeq());
    expect(await other.send(JSON.stringify([f]))).toEqual({ ack: [[f.deviceId, f.seq]] });
    expect((await trailSeqs(subjectOfDevice(f.deviceId))).has(f.seq)).toBe(true);
    expect((await http('GET', '/readyz')).status).toBe(200);
    // Invalid UTF-8 in a text frame: the protocol closes that connection (1007), nothing else.
    const bad = await Ingest.connect(url);
    const err2 = await bad.send(Buffer.from([0x5b, 0xc3, 0x28, 0x5d]), { binary: false }).then(() => null, (e: Error & { closeCode?: number }) => e);
    expect(err2?.closeCode).toBe(1007);
    const g = insideFix(DEVICES[1], nextSeq());
    expect(await other.send(JSON.stringify(g))).toEqual({ ack: [[g.deviceId, g.seq]] });
    await other.close();
  });

  // -------------------------------------------------------------------------------------------
  // HTTP API

  const CONTENT_TYPES = [
    'application/json', 'application/json', 'application/json', 'application/json', 'application/json', 'application/json',
    'application/json', 'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/xml', null,
  ] as const;
  /** Half tree-level only (the body stays JSON, so validation is reached), half anything (truncation, flips, NaN). */
  const httpMutations = fc.oneof(mutationsArb({ jsonValid: true, hugeBytes: 1 << 20 }), mutationsArb({ hugeBytes: 1 << 20 }));
  const TOKEN_CHOICES: TokenName[] = ['operator', 'operator', 'operator', 'operator', 'operator', 'operator', 'admin', 'team', 'ingest', 'none', 'bogus'];

  it('HTTP: PUT /v1/zones/:id with mutated bodies: 200 and stored as sent, or a registered 4xx and nothing stored (150 runs)', async () => {
    let n = 0;
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(
      zoneArb({ near: LONDON, id: fc.constant('') }),
      fc.option(httpMutations, { freq: 6, nil: undefined }),
      fc.constantFrom(...CONTENT_TYPES), fc.constantFrom(...TOKEN_CHOICES),
      async (zone, muts, contentType, token) => {
        const id = `Z-fz-${n++}`;
        const feature = { ...zone, id };
        // deepNotAt: a deep `id` gives a 500 and a deep `properties` a process crash (known bugs below).
        const m = muts === undefined ? null : applyMutations(feature, muts, { deepOnOriginal: true, deepNotAt: ['id', 'properties'] });
        const body = m === null ? Buffer.from(JSON.stringify(feature)) : m.bytes;
        const what = `PUT /v1/zones/${id} (${contentType}, ${token}) ${body.toString('utf8').slice(0, 400)}`;
        const r = await http('PUT', `/v1/zones/${id}`, { body, contentType, token });
        const stored = await http('GET', `/v1/zones/${id}`);
        if (r.status === 200) {
          codes.set('200', (codes.get('200') ?? 0) + 1);
          expect((r.json as { id: string }).id, what).toBe(id);
          expect(stored.status, what).toBe(200);
          const sent = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
          expect(same(stored.json, { ...sent, id }), `stored zone differs from the one sent: ${what}`).toBe(true);
        } else {
          const code = checkApiError(r, what);
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (code === 'ZONE_INVALID') expect(ZONE_CODES, what).toContain((r.json as { details: { zoneCode: string } }).details.zoneCode);
          expect(stored.status, `refused, yet stored: ${what}`).toBe(404);
        }
        if (m === null && contentType?.startsWith('application/json') && (token === 'operator' || token === 'admin')) expect(r.status, `valid zone refused: ${what} -> ${r.text.slice(0, 300)}`).toBe(200);
      },
    ), { seed: 0xf0231, numRuns: 150 });
    if (process.env.FUZZ_STATS) console.log('PUT zone', Object.fromEntries(codes));
    expect(codes.get('200') ?? 0).toBeGreaterThan(10);
    expect(codes.size).toBeGreaterThanOrEqual(6);
  });

  it('HTTP: PUT /v1/subjects/:id with mutated bodies: 200 and stored, or a registered 4xx and nothing stored (150 runs)', async () => {
    let n = 0;
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(
      subjectArb({ zoneIds: ['Z-FZ-HOME', 'Z-FZ-CIRCLE'], id: fc.constant(''), deviceId: fc.constant(''), victimDeviceIds: ['VIC-FZ-1'], teams: [TEAM, 'iom-north'] }),
      fc.option(httpMutations, { freq: 6, nil: undefined }),
      fc.constantFrom(...CONTENT_TYPES), fc.constantFrom(...TOKEN_CHOICES),
      async (subject, muts, contentType, token) => {
        const id = `S-fz-${n}`;
        const s = { ...subject, id, deviceId: `TAG-fz-${n++}` };
        // deepNotAt: a deep `id` gives a 500 (known bug below).
        const m = muts === undefined ? null : applyMutations(s, muts, { deepOnOriginal: true, deepNotAt: ['id'] });
        const body = m === null ? Buffer.from(JSON.stringify(s)) : m.bytes;
        const what = `PUT /v1/subjects/${id} (${contentType}, ${token}) ${body.toString('utf8').slice(0, 400)}`;
        const r = await http('PUT', `/v1/subjects/${id}`, { body, contentType, token });
        const stored = await http('GET', `/v1/subjects/${id}`);
        if (r.status === 200) {
          codes.set('200', (codes.get('200') ?? 0) + 1);
          expect(stored.status, what).toBe(200);
          expect(same(stored.json, r.json), what).toBe(true);
          expect(service.engine().getSubject(id), `accepted but not in the engine: ${what}`).toBeDefined();
        } else {
          const code = checkApiError(r, what);
          codes.set(code, (codes.get(code) ?? 0) + 1);
          expect(stored.status, `refused, yet stored: ${what}`).toBe(404);
        }
        if (m === null && contentType?.startsWith('application/json') && (token === 'operator' || token === 'admin')) expect(r.status, `valid subject refused: ${what} -> ${r.text.slice(0, 300)}`).toBe(200);
      },
    ), { seed: 0xf0232, numRuns: 150 });
    if (process.env.FUZZ_STATS) console.log('PUT subject', Object.fromEntries(codes));
    expect(codes.get('200') ?? 0).toBeGreaterThan(10);
    expect(codes.size).toBeGreaterThanOrEqual(5);
  });

  it('HTTP: POST /v1/alerts/:episodeId/ack with mutated bodies: 200 with the acknowledgement, or a registered 4xx (100 runs)', async () => {
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(
      fc.record({
        by: fc.string({ minLength: 1, maxLength: 60, unit: 'grapheme' }).filter((x) => x.length <= 200),
        note: fc.option(fc.string({ maxLength: 200, unit: 'grapheme' }).filter((x) => x.length <= 4000), { nil: undefined }),
        outcome: fc.constantFrom(...OUTCOMES),
      }),
      fc.option(httpMutations, { freq: 4, nil: undefined }),
      fc.constantFrom('real', 'real', 'real', 'real', 'other'), fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }),
      fc.constantFrom(...CONTENT_TYPES), fc.constantFrom<TokenName>('operator', 'operator', 'team', 'admin', 'ingest', 'none'),
      async (ack, muts, target, other, contentType, token) => {
        const id = target === 'real' ? episodeId : other;
        const body = muts === undefined ? Buffer.from(JSON.stringify(ack)) : applyMutations(ack, muts).bytes;
        const path = `/v1/alerts/${encodeURIComponent(id)}/ack`;
        const what = `POST ${path} (${contentType}, ${token}) ${body.toString('utf8').slice(0, 400)}`;
        const r = await http('POST', path, { body, contentType, token });
        if (r.status === 200) {
          codes.set('200', (codes.get('200') ?? 0) + 1);
          const sent = JSON.parse(body.toString('utf8')) as { by: string; outcome: string; note?: string };
          const got = (r.json as { acknowledged: { by: string; outcome: string; note: string } }).acknowledged;
          expect(got.by, what).toBe(sent.by);
          expect(got.outcome, what).toBe(sent.outcome);
          expect(got.note, what).toBe(sent.note ?? '');
        } else {
          const code = checkApiError(r, what);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        if (muts === undefined && target === 'real' && contentType?.startsWith('application/json') && token !== 'ingest' && token !== 'none') expect(r.status, `valid ack refused: ${what} -> ${r.text.slice(0, 300)}`).toBe(200);
      },
    ), { seed: 0xf0233, numRuns: 100 });
    if (process.env.FUZZ_STATS) console.log('ack', Object.fromEntries(codes));
    expect(codes.get('200') ?? 0).toBeGreaterThanOrEqual(5);
    expect((await http('GET', `/v1/alerts/${encodeURIComponent(episodeId)}`)).status).toBe(200);
  });

  it('HTTP: GET with odd query strings: 200 or a registered 4xx, never a 500 or a hang (150 runs)', async () => {
    const keys = ['team', 'state', 'limit', 'from', 'to', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'a[b]', 'limit[]', '', 'x'];
    const values = [
      '', 'open', 'closed', 'all', 'x', 'iom-north', '0', '-1', '1', '1000', '50000', '50001', '1e400', 'NaN', 'Infinity', '0x10', '1.5', ' 5',
      '99999999999999999999999', '2026-11-23T19:02:11Z', '2026-02-30T00:00:00Z', '1700000000000', '%00', '%', '%Z', '%ZZ', '%E0%A4%A', '%ED%A0%80',
      '%F0%9F%98%80', encodeURIComponent('😀'), encodeURIComponent('\u202eRTL'), '+', '%20', '%2B', '&', '=', '==', 'a=b', '[]', '{}',
      encodeURIComponent('{"polluted":"yes"}'), 'x'.repeat(2000),
    ];
    const paths = [
      '/v1/alerts', '/v1/alerts', '/v1/subjects/S-FZ-0/trail', '/v1/subjects/S-FZ-0/trail', '/v1/subjects/S-none/trail', '/v1/deliveries/dead',
      '/v1/audit', '/v1/zones/Z-FZ-HOME', '/v1/subjects/S-FZ-1', '/readyz', '/healthz', '/metrics', '/v1/nope', '/v1/alerts/x%00y',
    ];
    const query = fc.array(fc.record({ k: fc.constantFrom(...keys), v: fc.constantFrom(...values), bareKey: fc.boolean() }), { maxLength: 6 });
    const codes = new Map<string, number>();
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(...paths), query, fc.constantFrom('&', '&', '&', ';'), fc.constantFrom<TokenName>('operator', 'operator', 'admin', 'team', 'ingest', 'none', 'bogus'),
      async (path, q, sep, token) => {
        const qs = q.map(({ k, v, bareKey }) => (bareKey && v === '' ? k : `${k}=${v}`)).join(sep);
        const full = qs === '' ? path : `${path}?${qs}`;
        const r = await http('GET', full, { token });
        const what = `GET ${full.slice(0, 300)} (${token})`;
        if (r.status >= 200 && r.status < 300) {
          codes.set('2xx', (codes.get('2xx') ?? 0) + 1);
          if (path !== '/metrics') expect(r.json, `not JSON: ${what}`).toBeDefined();
        } else {
          const code = checkApiError(r, what);
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      },
    ), { seed: 0xf0234, numRuns: 150 });
    if (process.env.FUZZ_STATS) console.log('GET query', Object.fromEntries(codes));
    expect(codes.size).toBeGreaterThanOrEqual(5);
  });

  it('HTTP: bulk POST /v1/zones with good and mutated features: good ones accepted and queryable, each bad one named by index and code (30 runs)', async () => {
    let run = 0;
    let accepted = 0, rejected = 0, refusedWhole = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        zone: zoneArb({ near: LONDON, id: fc.constant('') }),
        // A deeply nested `properties` is a known 500 (bulk-import bug below).
        muts: fc.option(mutationsArb({ jsonValid: true, hugeBytes: 4096 }), { freq: 2, nil: undefined }),
      }), { minLength: 2, maxLength: 12 }),
      async (items) => {
        const r0 = run++;
        const built = items.map(({ zone, muts }, i) => {
          const f = { ...zone, id: `B-fz-${r0}-${i}` };
          const text = muts === undefined ? JSON.stringify(f) : applyMutations(f, muts, { deepOnOriginal: true, deepNotAt: ['properties'] }).text;
          return { f, text, good: muts === undefined, parsed: JSON.parse(text) as unknown };
        });
        const body = `{"type":"FeatureCollection","features":[${built.map((b) => b.text).join(',')}]}`;
        const what = `bulk ${body.slice(0, 1500)}`;
        const r = await http('POST', '/v1/zones', { body });
        if (built.some((b) => poisoned(b.parsed)) || jsonDepth(body) > 64) {
          // Request-level limits refuse the whole body (prototype-poisoning keys; JSON nested
          // deeper than 64 levels), like a body over the size limit: nothing is imported.
          expect(checkApiError(r, what)).toBe('VALIDATION');
          for (const b of built.filter((x) => x.good)) expect((await http('GET', `/v1/zones/${b.f.id}`)).status, what).toBe(404);
          refusedWhole++;
          return;
        }
        expect(r.status, `${what} -> ${r.text.slice(0, 500)}`).toBe(200);
        const res = r.json as { accepted: number; rejected: { index: number; id: string | null; code: string; message: string }[] };
        expect(res.accepted + res.rejected.length, what).toBe(built.length);
        const bad = new Set<number>();
        for (const e of res.rejected) {
          expect(Number.isInteger(e.index) && e.index >= 0 && e.index < built.length && !bad.has(e.index), `${what}\n${r.text.slice(0, 500)}`).toBe(true);
          bad.add(e.index);
          expect(ZONE_CODES, what).toContain(e.code);
          expect(typeof e.message === 'string' && e.message.length > 0).toBe(true);
        }
        accepted += res.accepted;
        rejected += res.rejected.length;
        for (const [i, b] of built.entries()) {
          if (b.good) expect(bad.has(i), `good feature ${i} refused: ${JSON.stringify(res.rejected.find((e) => e.index === i))}`).toBe(false);
          if (bad.has(i)) continue;
          const id = String((b.parsed as { id: unknown }).id);
          if (!addressable(id)) continue;
          const got = await http('GET', `/v1/zones/${encodeURIComponent(id)}`);
          expect(got.status, `accepted feature ${i} (${id}) not queryable: ${what}`).toBe(200);
          // A later feature with the same id in this collection is refused, so this one is stored.
          expect(same(got.json, b.parsed), `stored feature ${i} differs: ${what}`).toBe(true);
        }
      },
    ), { seed: 0xf0235, numRuns: 30 });
    if (process.env.FUZZ_STATS) console.log('bulk', { accepted, rejected });
    expect(accepted).toBeGreaterThan(20);
    expect(rejected + refusedWhole).toBeGreaterThan(10);
  });

  // -------------------------------------------------------------------------------------------
  // After the run

  it('after the run: /readyz is 200, the heap is sane, and everything accepted survives a restart', async () => {
    const ready = await http('GET', '/readyz');
    expect(ready.status, ready.text).toBe(200);
    const heap = process.memoryUsage().heapUsed;
    expect(heap, `heap ${heap >> 20} MB (was ${heapAtStart >> 20} MB)`).toBeLessThan(heapAtStart + 768 * 2 ** 20);
    const zonesBefore = [...service.engine().zones.keys()].filter(wellFormed).sort();
    const subjectsBefore = (await service.redis.hkeys(service.keys.subjects)).sort();
    expect(subjectsBefore.every((id) => service.engine().getSubject(id) !== undefined)).toBe(true);
    expect((await service.redis.hkeys(service.keys.zones)).filter(wellFormed).sort()).toEqual(zonesBefore);
    await ingest.close();
    await service.stop();
    service = await startFuzzService(prefix, { ingestMaxItems: MAX_ITEMS, ingestMaxMessageBytes: MAX_BYTES });
    url = service.url;
    ingest = await Ingest.connect(url);
    expect([...service.engine().zones.keys()].filter(wellFormed).sort()).toEqual(zonesBefore);
    for (const id of subjectsBefore) expect(service.engine().getSubject(id), `subject ${id} lost on restart`).toBeDefined();
    await expectUsable();
    expect((await http('GET', '/readyz')).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Known bugs found by the fuzzers: minimal reproductions. `knownBug` = it.fails: each passes
// while the bug is there and fails (asking for the marker to be removed) once it is fixed.

describe('fuzz findings (fixed; kept as regression tests)', () => {
  let prefix: string;
  let service: Service;
  const http = (method: string, path: string, o: CallOptions = {}): Promise<Res> => call(service.url, method, path, o);
  const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

  beforeAll(async () => {
    prefix = uniquePrefix();
    service = await startFuzzService(prefix);
    expect((await http('PUT', '/v1/zones/Z-FZ-HOME', { body: JSON.stringify(HOME) })).status).toBe(200);
  });
  afterAll(async () => {
    await service?.stop();
    if (prefix !== undefined) await cleanupPrefix(prefix);
  });

  // Malformed percent-encoding in the path: fastify answers before any hook or error handler.
  // GET /v1/zones/%E0%A4%A -> 400 {"error":"Bad Request","code":"FST_ERR_BAD_URL",...}; expected
  // a code from API_ERRORS (VALIDATION or NOT_FOUND).
  knownBug('a malformed percent-encoding in the path gets a registered error code', async () => {
    checkApiError(await http('GET', '/v1/zones/%E0%A4%A'), 'GET /v1/zones/%E0%A4%A');
  });

  // find-my-way's default maxParamLength is 100, but ids may be 128 characters (IdParam,
  // compileZone) and episode ids 400 (EpisodeParam). A zone imported with a 120-character id
  // cannot be read or deleted: GET /v1/zones/<120 chars> -> 414 {"code":"FST_ERR_MAX_PARAM_LENGTH"}.
  knownBug('a zone id of 101..128 characters (accepted by the bulk import) can be read back', async () => {
    const id = 'Z'.repeat(120);
    const imp = await http('POST', '/v1/zones', { body: JSON.stringify({ type: 'FeatureCollection', features: [{ ...CIRCLE, id }] }) });
    expect(imp.json).toEqual({ accepted: 1, rejected: [] });
    const r = await http('GET', `/v1/zones/${id}`);
    expect(r.status, r.text.slice(0, 200)).toBe(200);
  });

  // Same limit on alerts: an episode id is subject:condition:time, so a 52-character subject id
  // and a 52-character condition id (both valid) make a 130-character episode id, and the alert
  // can be neither read nor acknowledged: POST /v1/alerts/<id>/ack -> 414 FST_ERR_MAX_PARAM_LENGTH.
  knownBug('an alert whose episode id is longer than 100 characters can be acknowledged', async () => {
    const sid = `S-${'a'.repeat(50)}`;
    const subject = { ...exclusionSubject(sid, 'TAG-LONG'), conditions: [{ id: `c-${'b'.repeat(50)}`, type: 'exclusion', zone: 'Z-FZ-HOME' }] };
    expect((await http('PUT', `/v1/subjects/${sid}`, { body: JSON.stringify(subject) })).status).toBe(200);
    const ws = await Ingest.connect(service.url);
    expect(await ws.send(JSON.stringify(insideFix('TAG-LONG', 1)))).toEqual({ ack: [['TAG-LONG', 1]] });
    await ws.close();
    const list = (await http('GET', '/v1/alerts?state=open')).json as { alerts: { episodeId: string; subjectId: string }[] };
    const ep = list.alerts.find((a) => a.subjectId === sid)?.episodeId ?? '';
    expect(ep.length).toBeGreaterThan(100);
    const r = await http('POST', `/v1/alerts/${encodeURIComponent(ep)}/ack`, { body: JSON.stringify({ by: 'officer', outcome: 'warning' }) });
    expect(r.status, r.text.slice(0, 200)).toBe(200);
  });

  // An unsupported Content-Type gets 415 with code VALIDATION, which API_ERRORS and
  // docs/api-errors.md document as 400 (a client keying on the code sees an undocumented status).
  // PUT /v1/zones/Z (Content-Type: application/octet-stream) -> 415 {"code":"VALIDATION"}.
  knownBug('the HTTP status of an error is the one API_ERRORS gives its code', async () => {
    const r = await http('PUT', '/v1/zones/Z-ct', { body: JSON.stringify(CIRCLE), contentType: 'application/octet-stream' });
    const code = checkApiError(r, 'PUT octet-stream');
    expect(r.status).toBe(API_ERRORS[code as keyof typeof API_ERRORS].status);
  });

  // The "body id differs from the path's" message is built with JSON.stringify(body.id): a deeply
  // nested id throws RangeError (stack overflow) -> 500 INTERNAL. Minimal: PUT /v1/zones/Z with
  // {"type":"Feature","id":{"a":{"a":...10,000 levels}}} -> 500; same for PUT /v1/subjects/S.
  knownBug('a deeply nested id in a PUT body gets a 4xx, not a 500', async () => {
    const z = await http('PUT', '/v1/zones/Z-deep-id', { body: `{"type":"Feature","id":${deep(10_000)}}` });
    const s = await http('PUT', '/v1/subjects/S-deep-id', { body: `{"id":${deep(10_000)}}` });
    expect([z.status, s.status]).toEqual([400, 400]);
  });

  // Bulk import stringifies each good feature inside the try that expects only ZoneError: a
  // feature with a deeply nested property throws RangeError, and the whole import is a 500 that
  // loses the good features beside it. Minimal: POST /v1/zones {"type":"FeatureCollection",
  // "features":[<good circle B1>, <circle B2 with "deep":{"a":{"a":...10,000 levels}}>]} -> 500,
  // GET /v1/zones/B1 -> 404. Expected: 200, B1 accepted (B2 accepted or rejected by index).
  knownBug('bulk import: a feature nested past the depth limit gets a clear 400 and nothing half-imported, never a 500', async () => {
    const good = JSON.stringify({ ...CIRCLE, id: 'B-good' });
    const bad = `${JSON.stringify({ ...CIRCLE, id: 'B-deep' }).slice(0, -1)},"deep":${deep(10_000)}}`;
    const r = await http('POST', '/v1/zones', { body: `{"type":"FeatureCollection","features":[${good},${bad}]}` });
    expect(r.status, r.text).toBe(400);
    expect(checkApiError(r, 'deep bulk')).toBe('VALIDATION');
    expect((r.json as { message: string }).message).toMatch(/nested/);
    expect((await http('GET', '/v1/zones/B-good')).status).toBe(404);
    // The same good feature alone, or beside a shallow bad one, is imported.
    const ok = await http('POST', '/v1/zones', { body: `{"type":"FeatureCollection","features":[${good},{"type":"Feature","id":"B-bad"}]}` });
    expect(ok.status, ok.text).toBe(200);
    expect((await http('GET', '/v1/zones/B-good')).status).toBe(200);
  });

  // Zone ids are not checked for well-formed Unicode. Redis stores strings as UTF-8, so a lone
  // surrogate becomes U+FFFD: "Z\ud800" and "Z\udbff" are both accepted (engine has both) but
  // land on ONE Redis field "Z\ufffd". After a restart one zone is gone, the other is filed under
  // the wrong key, and a subject whose condition names "Z\ud800" is silently dropped (not
  // monitored) while GET /v1/subjects still shows it. Expected: such ids refused (ZONE_BAD_ID), or
  // stored faithfully.
  knownBug('zone ids with lone surrogates are refused or survive a restart with their subjects', async () => {
    const p = uniquePrefix();
    let s = await startFuzzService(p);
    try {
      const imp = await call(s.url, 'POST', '/v1/zones', { body: JSON.stringify({ type: 'FeatureCollection', features: [{ ...CIRCLE, id: 'Z\ud800' }, { ...CIRCLE, id: 'Z\udbff' }] }) });
      const accepted = (imp.json as { accepted: number }).accepted;
      if (accepted === 0) return; // refused: fine
      const put = await call(s.url, 'PUT', '/v1/subjects/S-sur', { body: JSON.stringify({ ...exclusionSubject('S-sur', 'TAG-SUR'), conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z\ud800' }] }) });
      expect(put.status).toBe(200);
      await s.stop();
      s = await startFuzzService(p);
      expect([...s.engine().zones.keys()].sort()).toEqual(['Z\ud800', 'Z\udbff']);
      expect(s.engine().getSubject('S-sur'), 'subject dropped on restart').toBeDefined();
    } finally {
      await s.stop();
      await cleanupPrefix(p);
    }
  });

  // Found by this suite and fixed meanwhile (fromZod doubled the dot: "query..limit"); kept as a
  // regression test.
  it('details.path names the field without a doubled dot', async () => {
    const r = await http('GET', '/v1/alerts?limit=0');
    expect((r.json as { details: { path: string } }).details.path).toBe('query.limit');
  });

  // A request line + headers over Node's 16 KiB limit gets fastify's own 431 body
  // {"error","message","statusCode"} with no `code`, unlike every other error. Minimal:
  // GET /v1/alerts?team=<20,000 x> -> 431 without code. (Low priority; docs say every error is
  // {code, message}.)
  knownBug('an oversize request line still gets a {code, message} error body', async () => {
    checkApiError(await http('GET', `/v1/alerts?team=${'x'.repeat(20_000)}`), 'GET huge query');
  });

  // The worst one: PUT /v1/zones/:id (or PUT /v1/subjects/:id) whose body carries a deeply nested
  // value under a key the schema does not check. compileZone/SubjectSchema accept it, the engine
  // applies it, then JSON.stringify(feature) throws RangeError inside Committer.flush: the promise
  // is rejected with no handler, and Node 20 ends the process (unhandled rejection). One
  // authenticated request takes the service down; until then the request hangs, the engine holds
  // a zone Redis never got, and fixes staged in the same group are never acknowledged.
  // Minimal: PUT /v1/zones/Z2 {"type":"Feature","id":"Z2","geometry":{"type":"Point",
  // "coordinates":[0,51]},"properties":{"radiusM":50},"deep":{"a":{"a":...10,000 levels}}}.
  // Run against the built service as a child process (it would take the test process down).
  describe.skipIf(!distBuilt())('deeply nested unchecked values (child process: dist/src/server/main.js)', () => {
    for (const [what, path, body] of [
      ['zone', '/v1/zones/Z-deep', `${JSON.stringify({ ...CIRCLE, id: 'Z-deep' }).slice(0, -1)},"deep":${deep(10_000)}}`],
      ['subject', '/v1/subjects/S-deep', `${JSON.stringify({ id: 'S-deep', deviceId: 'TAG-DEEP', team: TEAM, conditions: [] }).slice(0, -1)},"notes":${deep(10_000)}}`],
    ] as const) {
      knownBug(`PUT ${what} with a deeply nested extra field: answered, and the process survives`, async () => {
        const p = uniquePrefix();
        const child = await spawnService(p);
        try {
          const r = await call(child.url, 'PUT', path, { body, timeoutMs: 5000 }).catch((e: Error) => e);
          await new Promise((done) => setTimeout(done, 300));
          expect(child.alive(), `the service process died:\n${child.output().slice(-1500)}`).toBe(true);
          expect(r).not.toBeInstanceOf(Error);
          expect((r as Res).status).toBeLessThan(500);
          expect((await call(child.url, 'GET', '/readyz')).status).toBe(200);
        } finally {
          await child.kill();
          await cleanupPrefix(p);
        }
      });
    }
  });
});
