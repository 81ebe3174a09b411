import type { ZoneErrorCode } from '../../geo/index.js';

/**
 * Every way a configuration (the replay CLI's file, a subject sent to the API) can be refused
 * before it reaches the engine. Codes are stable; a zone that does not compile keeps its
 * ZoneError code. Listed in docs/api-errors.md, checked by test/docs/error-registry.test.ts.
 */
export type ConfigErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_DUPLICATE_ID'
  | 'CONFIG_DUPLICATE_DEVICE'
  | 'CONFIG_VICTIM_IS_SUBJECT'
  | 'CONFIG_UNKNOWN_ZONE'
  | 'CONFIG_BAD_SCHEDULE';

/** One line per code: what it means. */
export const CONFIG_ERROR_CODES: Readonly<Record<ConfigErrorCode, string>> = {
  CONFIG_INVALID: 'a value is missing, malformed or out of range, or validTo is not later than validFrom',
  CONFIG_DUPLICATE_ID: 'a zone, subject or condition id is used twice (condition ids: twice in one subject)',
  CONFIG_DUPLICATE_DEVICE: 'a device is worn by two subjects',
  CONFIG_VICTIM_IS_SUBJECT: "a proximity condition's victim device is a subject's tag",
  CONFIG_UNKNOWN_ZONE: 'a condition names a zone that is not defined',
  CONFIG_BAD_SCHEDULE: 'a schedule cannot be compiled (a bad time of day, exception range or time zone)',
};

/** A configuration problem, with the JSON path where it is. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly code: ConfigErrorCode | ZoneErrorCode, readonly path: string, detail: string) {
    super(`${path}: ${detail}`);
  }
}
