/** Device ids: what a tag's id may be (config.ts's schemas and the bulk path, config-fast.ts). */
export const DEVICE_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Ids that episode ids, Redis keys and job ids are composed of (subject, condition, zone, team):
 * ":" is their separator, so it may not appear in one, and `X` + `c:d` can never give the same
 * episode id as `X:c` + `d`.
 */
export const ID_SEPARATOR = ':';
