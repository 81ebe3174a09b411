// The bulk path of subject validation (src/engine/config-fast.ts) must be invisible: whenever it
// accepts a subject, zod accepts it too and outputs the same object (keys, order, defaults);
// whenever zod refuses one, it declines, so the error message still comes from the schema.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileConfig, ConfigError, SubjectSchema, strictErrorMap } from '../../src/engine/config.js';
import { fastSubject } from '../../src/engine/config-fast.js';
import { buildWorld } from '../../bench/engine/world.js';
import { applyMutations, mutatedArb, subjectArb, tryParse } from '../fuzz/generators.js';

const ZONE_IDS = ['Z-0', 'Z-1', 'Z-2'];

/** zod's verdict and the fast path's agree (the fast path may only decline). */
function agrees(value: unknown): 'fast' | 'zod-ok' | 'zod-error' {
  const fast = fastSubject(value);
  const z = SubjectSchema.safeParse(value, { error: strictErrorMap });
  if (fast !== null) {
    expect(z.success, `the fast path accepted what zod refuses: ${z.success ? '' : z.error.message}`).toBe(true);
    expect(JSON.stringify(fast)).toBe(JSON.stringify(z.data));
    expect(fast).toEqual(z.data);
    return 'fast';
  }
  return z.success ? 'zod-ok' : 'zod-error';
}

describe('subject validation: the bulk path agrees with SubjectSchema', () => {
  it('takes every subject of the national benchmark world, with zod\'s output', () => {
    const world = buildWorld({ seed: 7, subjects: 2000, zones: 4000 });
    const verdicts = world.config.subjects.map((s) => agrees(JSON.parse(JSON.stringify(s))));
    expect(verdicts.every((v) => v === 'fast')).toBe(true);
  });

  it('on generated subjects: accepts only what zod accepts, with the same output (300 runs)', () => {
    let fastN = 0;
    fc.assert(fc.property(subjectArb({ zoneIds: ZONE_IDS }), (s) => {
      if (agrees(JSON.parse(JSON.stringify(s))) === 'fast') fastN++;
    }), { seed: 0x5eed40, numRuns: 300 });
    // Generated subjects are valid: nearly all of them should take the bulk path.
    expect(fastN).toBeGreaterThan(250);
  });

  it('on mutated subjects: never accepts what zod refuses (800 runs)', () => {
    fc.assert(fc.property(mutatedArb(subjectArb({ zoneIds: ZONE_IDS }), { jsonValid: true, hugeBytes: 300, depths: [50] }), ({ base, muts }) => {
      const doc = tryParse(applyMutations(base, muts).text);
      if (doc.ok) agrees(doc.value);
    }), { seed: 0x5eed41, numRuns: 800 });
  });

  it('declines the values at the edges of each rule', () => {
    const base = { id: 'S1', deviceId: 'T1', team: 'north', conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-0', bufferM: 5 }] };
    const cases: unknown[] = [
      { ...base, id: 'a:b' }, { ...base, id: '' }, { ...base, id: 'x'.repeat(129) }, { ...base, id: '\ud800' },
      { ...base, deviceId: 'bad id' }, { ...base, risk: 'severe' }, { ...base, mappaLevel: 4 }, { ...base, mappaLevel: 1.5 },
      { ...base, timezone: 'Mars/Olympus' }, { ...base, validFrom: 'yesterday' }, { ...base, validFrom: -1 }, { ...base, name: '' },
      { ...base, status: 'gone' }, { ...base, extra: 1 }, { ...base, wisdom: 'yes' },
      { ...base, conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-0', layer: 'L' }] },
      { ...base, conditions: [{ id: 'c1', type: 'exclusion' }] },
      { ...base, conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-0', bufferm: 5 }] },
      { ...base, conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-0', bufferM: -1 }] },
      { ...base, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-0' }] },
      { ...base, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-0', schedule: { windows: [] } }] },
      { ...base, conditions: [{ id: 'c1', type: 'curfew', zone: 'Z-0', schedule: { windows: [{ days: ['monday'], start: '19:00', end: '07:00' }] } }] },
      { ...base, conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'V1', distanceM: 200, warnM: 100 }] },
      { ...base, conditions: [{ id: 'c1', type: 'proximity', victimDeviceId: 'V1', distanceM: 0 }] },
      { ...base, conditions: [{ id: 'c1', type: 'teleport' }] },
      { ...base, conditions: [{ id: 'c1', type: 'exclusion', zone: 'Z-0', confirmFixes: 101 }] },
    ];
    for (const c of cases) {
      expect(fastSubject(c), JSON.stringify(c)).toBeNull();
      expect(agrees(c)).toBe('zod-error');
    }
  });

  it('compileConfig names the same fault as before when one subject among many is bad', () => {
    const world = buildWorld({ seed: 7, subjects: 300, zones: 600 });
    const config = JSON.parse(JSON.stringify(world.config)) as { subjects: Record<string, unknown>[] };
    (config.subjects[250]!['conditions'] as Record<string, unknown>[])[0]!['bufferm'] = 5;
    expect(() => compileConfig(config)).toThrow(ConfigError);
    expect(() => compileConfig(config)).toThrow(/^subjects\[250\]\.conditions\[0\]\.bufferm: unknown field; did you mean bufferM\?$/);
    expect(compileConfig(world.config).subjects).toHaveLength(300);
  });
});
