// Issue 12 item 4: a trail belongs to a device AND the period it was assigned. A victim unit's
// fixes are never served on a subject's trail (even after the unit is reissued as a tag to
// another team's subject); a reissued tag does not carry its previous wearer's history; a
// registered tag's fixes from before its first link are still the first subject's history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodsOf } from '../../src/server/device-assignments.js';
import {
  api, exclusionSubject, fix, INSIDE_X, startTestService, TOKENS, WsClient, zoneX, type TestService,
} from '../support/server.js';

describe('trails after a device is reassigned (real Redis)', () => {
  let t: TestService;
  let ws: WsClient;
  const as = (token: string) => (method: string, path: string, body?: unknown) => api(t.service.app, method, path, { token, body });
  const op = as(TOKENS.operator);
  const north = as(TOKENS.north);
  const south = as(TOKENS.south);
  const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const seqs = (r: { body: { features: { properties: { seq: number } }[] } }): number[] => r.body.features.map((f) => f.properties.seq);
  const put = async (id: string, body: unknown): Promise<void> => {
    const r = await op('PUT', `/v1/subjects/${id}`, body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };

  beforeAll(async () => {
    t = await startTestService({ rateLimitPerS: 100_000 });
    expect((await op('PUT', '/v1/zones/Z-X', zoneX('Z-X'))).status).toBe(200);
    ws = await WsClient.connect(t.url, '/v1/ingest', TOKENS.ingest);
  });

  afterAll(async () => {
    await ws?.closeAndWait();
    await t?.close();
  });

  it('never serves a victim unit\'s fixes to the team whose subject later wears the unit as a tag', async () => {
    // VIC is the victim unit watched by a north subject's proximity condition; its fixes are recorded.
    await put('S-WATCH', { id: 'S-WATCH', deviceId: 'TAG-W', team: 'iom-north', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'VIC', distanceM: 500 }] });
    expect(await ws.send([fix('VIC', 1, base + 1000, INSIDE_X), fix('VIC', 2, base + 2000, INSIDE_X)])).toEqual({ ack: [['VIC', 1], ['VIC', 2]] });
    // The condition goes; the unit is reissued as the tag of a south subject.
    await put('S-WATCH', exclusionSubject('S-WATCH', 'TAG-W', 'iom-north', 'Z-X'));
    await put('S-SOUTH', exclusionSubject('S-SOUTH', 'VIC', 'iom-south', 'Z-X'));
    expect(await ws.send(fix('VIC', 3, base + 3000, INSIDE_X))).toEqual({ ack: [['VIC', 3]] });
    const trail = await south('GET', '/v1/subjects/S-SOUTH/trail');
    expect(trail.status).toBe(200);
    expect(seqs(trail)).toEqual([3]);
    // The same rule for operators: the subject's trail is the subject's.
    expect(seqs(await op('GET', '/v1/subjects/S-SOUTH/trail'))).toEqual([3]);
  });

  it('records the same through the bulk import', async () => {
    const imp = async (subjects: unknown[]): Promise<void> => {
      const r = await op('POST', '/v1/subjects', { subjects });
      expect(r.body, JSON.stringify(r.body)).toMatchObject({ accepted: subjects.length, rejected: [] });
    };
    await imp([{ id: 'S-W2', deviceId: 'TAG-W2', team: 'iom-north', conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'VIC2', distanceM: 500 }] }]);
    expect(await ws.send(fix('VIC2', 1, base + 1000, INSIDE_X))).toEqual({ ack: [['VIC2', 1]] });
    await imp([exclusionSubject('S-W2', 'TAG-W2', 'iom-north', 'Z-X')]);
    await imp([exclusionSubject('S-SOUTH2', 'VIC2', 'iom-south', 'Z-X')]);
    expect(seqs(await south('GET', '/v1/subjects/S-SOUTH2/trail'))).toEqual([]);
  });

  it('does not carry a tag\'s previous wearer\'s fixes to the next; the previous wearer keeps them', async () => {
    await put('S1', exclusionSubject('S1', 'TAG-RE', 'iom-north', 'Z-X'));
    expect(await ws.send([fix('TAG-RE', 1, base + 1000, INSIDE_X), fix('TAG-RE', 2, base + 2000, INSIDE_X)])).toEqual({ ack: [['TAG-RE', 1], ['TAG-RE', 2]] });
    // S1 gets a new tag; TAG-RE is reissued to S2 (another team).
    await put('S1', exclusionSubject('S1', 'TAG-NEW', 'iom-north', 'Z-X'));
    expect(await ws.send(fix('TAG-NEW', 1, base + 2500, INSIDE_X))).toEqual({ ack: [['TAG-NEW', 1]] });
    await put('S2', exclusionSubject('S2', 'TAG-RE', 'iom-south', 'Z-X'));
    expect(await ws.send(fix('TAG-RE', 3, base + 3000, INSIDE_X))).toEqual({ ack: [['TAG-RE', 3]] });
    expect(seqs(await south('GET', '/v1/subjects/S2/trail'))).toEqual([3]);
    expect(seqs(await op('GET', '/v1/subjects/S2/trail'))).toEqual([3]);
    const s1 = await north('GET', '/v1/subjects/S1/trail');
    expect(s1.body.features.map((f: { properties: { seq: number; ts: string } }) => [f.properties.seq, Date.parse(f.properties.ts)])).toEqual([[1, base + 1000], [2, base + 2000], [1, base + 2500]]);
    // Deleted and reissued again: the next wearer starts clean too.
    expect((await op('DELETE', '/v1/subjects/S2')).status).toBe(204);
    await put('S3', exclusionSubject('S3', 'TAG-RE', 'iom-south', 'Z-X'));
    expect(seqs(await south('GET', '/v1/subjects/S3/trail'))).toEqual([]);
  });

  it('keeps a registered tag\'s fixes from before its first link as the first subject\'s history', async () => {
    expect((await op('PUT', '/v1/devices/TAG-REG', { kind: 'tag', status: 'fitted' })).status).toBe(200);
    expect(await ws.send([fix('TAG-REG', 1, base + 1000, INSIDE_X), fix('TAG-REG', 2, base + 2000, INSIDE_X)])).toEqual({ ack: [['TAG-REG', 1], ['TAG-REG', 2]] });
    await put('S-REG', exclusionSubject('S-REG', 'TAG-REG', 'iom-north', 'Z-X'));
    expect(seqs(await north('GET', '/v1/subjects/S-REG/trail'))).toEqual([1, 2]);
  });
});

describe('periodsOf (a device\'s assignment history → a subject\'s stretches of its trail)', () => {
  const s = (subjectId: string, from: string) => ({ role: 'subject' as const, subjectId, from });
  const v = (from: string) => ({ role: 'victim' as const, from });
  const none = (from: string) => ({ role: 'none' as const, from });
  it('a device without history is its current wearer\'s from the beginning, nobody else\'s', () => {
    expect(periodsOf([], 'S', true)).toEqual([{ after: '0-0', to: '+' }]);
    expect(periodsOf([], 'S', false)).toEqual([]);
  });
  it('the first wearer has what came before; a reissue splits the trail', () => {
    expect(periodsOf([s('S1', '5-0'), s('S2', '9-0')], 'S1', false)).toEqual([{ after: '0-0', to: '9-0' }]);
    expect(periodsOf([s('S1', '5-0'), s('S2', '9-0')], 'S2', true)).toEqual([{ after: '9-0', to: '+' }]);
  });
  it('an unassigned stretch goes to the next wearer, a victim period to nobody', () => {
    const h = [v('1-0'), none('4-0'), s('S', '7-0'), none('8-0'), s('T', '9-0')];
    expect(periodsOf(h, 'S', false)).toEqual([{ after: '4-0', to: '8-0' }]);
    expect(periodsOf(h, 'T', true)).toEqual([{ after: '8-0', to: '+' }]);
  });
  it('a leading "none" ends an assignment from before histories: the next wearer starts there', () => {
    expect(periodsOf([none('3-0'), s('S', '6-0')], 'S', true)).toEqual([{ after: '3-0', to: '+' }]);
  });
});
