// The engine's side of the device register: a registered device no one wears is known (its
// fixes are accepted, duplicates recognised, nothing raised) and keeps its history when a
// subject starts wearing it; taking it off the register makes it unknown again.
import { describe, expect, it } from 'vitest';
import { compileConfig, compileSubject, SubjectSchema } from '../../src/engine/config.js';
import { Engine } from '../../src/engine/engine.js';
import { parseFix } from '../../src/engine/fix.js';
import { config, southOfX, subject, zoneX } from './scenario-helpers.js';

const T = Date.UTC(2026, 10, 23, 9);
const INSIDE = southOfX(-300);
const at = (deviceId: string, seq: number, min: number) => parseFix({ deviceId, seq, ts: new Date(T + min * 60_000).toISOString(), lat: INSIDE[0], lon: INSIDE[1], accuracy: 5 });
const excl = { id: 'c1', type: 'exclusion', zone: 'Z-X' };

function engineWith(devices: string[]): Engine {
  return new Engine({ ...compileConfig(config([], [zoneX()])), devices });
}

describe('device register (engine)', () => {
  it('accepts a registered device\'s fixes with no subject, raising nothing; repeats are duplicates', () => {
    const e = engineWith(['TAG-R']);
    expect(e.isKnownDevice('TAG-R')).toBe(true);
    expect(e.deviceRole('TAG-R')).toBeNull();
    expect(e.ingest(at('TAG-R', 1, 0))).toBe('accepted');
    expect(e.ingest(at('TAG-R', 1, 0))).toBe('duplicate');
    expect(e.ingest(at('TAG-OTHER', 1, 0))).toBe('unknown_device');
    expect(e.drain()).toEqual([]);
  });

  it('keeps the device\'s history when a subject starts wearing it; alerts start then', () => {
    const e = engineWith(['TAG-R']);
    expect(e.ingest(at('TAG-R', 1, 0))).toBe('accepted');
    e.setSubject(compileSubject(SubjectSchema.parse(subject([excl], { deviceId: 'TAG-R' })), e.zones, e.settings, 'test'));
    expect(e.deviceRole('TAG-R')).toEqual({ subjectId: 'S-1' });
    expect(e.ingest(at('TAG-R', 1, 0))).toBe('duplicate');
    expect(e.ingest(at('TAG-R', 2, 1))).toBe('accepted');
    expect(e.drain().map((x) => [x.event, x.type])).toEqual([['opened', 'exclusion']]);
  });

  it('stays known after the subject wearing it is deleted; unregistering makes it unknown', () => {
    const e = engineWith(['TAG-R']);
    e.setSubject(compileSubject(SubjectSchema.parse(subject([excl], { deviceId: 'TAG-R' })), e.zones, e.settings, 'test'));
    e.deleteSubject('S-1');
    expect(e.isKnownDevice('TAG-R')).toBe(true);
    expect(e.ingest(at('TAG-R', 5, 5))).toBe('accepted');
    e.unregisterDevice('TAG-R');
    expect(e.ingest(at('TAG-R', 6, 6))).toBe('unknown_device');
    // Unregistering a device a subject wears changes nothing for the subject.
    e.registerDevice('TAG-W');
    e.setSubject(compileSubject(SubjectSchema.parse(subject([excl], { id: 'S-2', deviceId: 'TAG-W' })), e.zones, e.settings, 'test'));
    e.unregisterDevice('TAG-W');
    expect(e.deviceRole('TAG-W')).toEqual({ subjectId: 'S-2' });
    e.deleteSubject('S-2');
    expect(e.isKnownDevice('TAG-W')).toBe(false);
  });

  it('survives a snapshot and restore (duplicates still recognised)', () => {
    const e = engineWith(['TAG-R']);
    e.ingest(at('TAG-R', 1, 0));
    const again = engineWith(['TAG-R']);
    again.restore(JSON.parse(JSON.stringify(e.snapshot())));
    expect(again.ingest(at('TAG-R', 1, 0))).toBe('duplicate');
  });
});
