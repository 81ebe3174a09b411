import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ZONE_ERROR_CODES } from '../../geo/index.js';
import { CONFIG_ERROR_CODES } from '../../src/engine/config.js';
import { API_ERRORS } from '../../src/server/errors.js';

const doc = readFileSync(new URL('../../docs/api-errors.md', import.meta.url), 'utf8');

describe('error registries', () => {
  it('documents every API error code with its HTTP status', () => {
    for (const [code, { status }] of Object.entries(API_ERRORS)) {
      expect(doc, `docs/api-errors.md lists ${code}`).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('documents every zone error code', () => {
    for (const code of Object.keys(ZONE_ERROR_CODES)) expect(doc, `docs/api-errors.md lists ${code}`).toContain(`| \`${code}\` |`);
  });

  it('documents every configuration error code', () => {
    for (const code of Object.keys(CONFIG_ERROR_CODES)) expect(doc, `docs/api-errors.md lists ${code}`).toContain(`| \`${code}\` |`);
  });

  it('lists no code in the document that the registries do not know', () => {
    const listed = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    const known = new Set([...Object.keys(API_ERRORS), ...Object.keys(ZONE_ERROR_CODES), ...Object.keys(CONFIG_ERROR_CODES)]);
    expect(listed.filter((c) => !known.has(c))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });
});
