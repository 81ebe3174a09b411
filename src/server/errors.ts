/**
 * Every error the API returns: a stable code, an HTTP status and what it means. One registry
 * (fastify's habit); a test checks each code is unique and listed in docs/api-errors.md.
 */
export const API_ERRORS = {
  AUTH_REQUIRED: { status: 401, meaning: 'no bearer token was sent' },
  AUTH_INVALID: { status: 401, meaning: 'the bearer token is not one this service knows' },
  FORBIDDEN: { status: 403, meaning: 'the token\'s role may not do this' },
  NOT_FOUND: { status: 404, meaning: 'no such zone, subject, alert, team, dead letter or route (another team\'s resource answers the same)' },
  VALIDATION: { status: 400, meaning: 'the request body or query is malformed; details name the field' },
  ZONE_INVALID: { status: 400, meaning: 'the zone geometry or properties were refused; details.zoneCode names the fault' },
  WEBHOOK_URL_REFUSED: { status: 400, meaning: 'a webhook URL has user-info, or its host is (or resolves to) a loopback, private, link-local or reserved address not listed in WEBHOOK_ALLOW_HOSTS' },
  ZONE_IN_USE: { status: 409, meaning: 'the zone is named by subjects\' conditions; change those first' },
  SUBJECT_CONFLICT: { status: 409, meaning: 'the subject clashes with another (device worn by another subject, or a victim device that is a subject\'s tag)' },
  ALERT_CLAIMED: { status: 409, meaning: 'someone else is working the alert (details.claim); an operator may take it with force' },
  DECISION_LIMIT: { status: 409, meaning: 'the alert already holds the most decisions kept per alert (100)' },
  RESEND_UNAVAILABLE: { status: 409, meaning: 'the dead-lettered delivery is no longer held and cannot be rebuilt' },
  ARCHIVE_OFF: { status: 409, meaning: 'the evidence archive is off (DATABASE_URL is not set); evidence packs are made from the archive' },
  EPISODE_NOT_ARCHIVED: { status: 404, meaning: 'the alert exists but is not in the archive yet (the copier has not reached it); try again shortly' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the body is larger than the configured limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'the body is not application/json (nor text/csv where a route takes CSV)' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'the request line and headers are larger than the server accepts' },
  RATE_LIMITED: { status: 429, meaning: 'this token sent more requests (or acknowledgements) than its per-second allowance' },
  STORAGE_UNAVAILABLE: { status: 503, meaning: 'Redis could not record the change; nothing was changed; try again' },
  NOT_READY: { status: 503, meaning: 'the service is loading or recovering its state' },
  MATCH_NOT_QUALIFIED: { status: 409, meaning: 'a crime-match candidate that no person has qualified has no evidence pack (pending or rejected)' },
  PURPOSE_REQUIRED: { status: 400, meaning: 'an evidence request (crime matching) states no purpose; details.path names where it goes' },
  CRIME_BATCH_INVALID: { status: 400, meaning: 'the crime batch as a whole was refused (unreadable CSV, unknown column, too many crimes, or no good row); details name the fault or the rows' },
  ARCHIVE_UNAVAILABLE: { status: 503, meaning: 'the evidence archive (PostgreSQL/PostGIS) is off (DATABASE_URL unset), not answering, or could not be read; nothing was served' },
  INTERNAL: { status: 500, meaning: 'an unexpected fault; it is logged' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(readonly code: ApiErrorCode, message: string, readonly details?: unknown) {
    super(message);
    this.status = API_ERRORS[code].status;
  }
}
