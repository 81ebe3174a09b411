import { migration as archive } from './001-archive.js';
import { migration as archiveCopier } from './010-archive-copier.js';
import { migration as crimeMatches } from './020-crime-matches.js';
import { migration as crimeIndex } from './021-crime-index.js';

export interface Migration { id: string; sql: string }

/** Every migration, applied in this order once each (db.ts records them in schema_migrations). */
export const MIGRATIONS: readonly Migration[] = [archive, archiveCopier, crimeMatches, crimeIndex];
