import type { FastifyReply } from 'fastify';
import type pg from 'pg';
import { z } from 'zod';
import { parseSettings } from '../../engine/config.js';
import { buildAlertPack, HTML_CSP, renderInWorker, type PackDocument } from '../../evidence/pack/index.js';
import { roleName } from '../auth.js';
import { ApiError } from '../errors.js';
import { EPISODE_ID_RE } from './alerts.js';
import { audit, routeOn, teamOf, type ResourcePlugin } from './route.js';

const EpisodeParam = z.object({ episodeId: z.string().min(1).max(400) });
/** Every pack request states why it is made: it is printed on the pack and kept in the audit log. */
export const PackQuery = z.object({
  format: z.enum(['pdf', 'html']).default('pdf').describe('pdf (made by the service) or html (self-contained, print-friendly)'),
  purpose: z.string().trim().min(3, 'must say why the pack is needed (at least 3 characters)').max(500).describe('why the pack is needed, e.g. "breach report to court, case 123"'),
});

/** The team of an archived episode (null: the archive holds no event of it). */
async function archivedTeam(db: pg.Pool, episodeId: string): Promise<string | null> {
  const r = await db.query<{ team: string }>('SELECT team FROM alert_events WHERE episode_id = $1 LIMIT 1', [episodeId]);
  return r.rows[0]?.team ?? null;
}

/**
 * Evidence packs (issue 14, part 3): an alert episode's pack, made from the archive
 * (PostgreSQL), as PDF or HTML. Operator, admin, and a team for its own team's episodes (another
 * team's answers 404 as a missing one). Every pack is audited with who asked and why.
 */
export const evidence: ResourcePlugin = async (app, ctx) => {
  const route = routeOn(app, ctx.docs);
  const settings = parseSettings(ctx.settings.engineSettingsJson, 'ENGINE_SETTINGS');
  route({
    method: 'GET', url: '/v1/alerts/:episodeId/evidence-pack', roles: ['operator', 'admin', 'team'], params: EpisodeParam, query: PackQuery,
    summary: 'The evidence pack of an archived alert episode (PDF or HTML): map, positions, conditions in force, events, decisions, device health, engine version, a reproducibility check, disclaimer and witness statement; purpose required and audited',
  }, async (_req, reply, { params, query, principal }) => {
    const { episodeId } = params;
    const missing = (): ApiError => new ApiError('NOT_FOUND', `no alert ${JSON.stringify(episodeId)}`);
    if (!EPISODE_ID_RE.test(episodeId)) throw missing();
    const db = ctx.archiveDb;
    if (db === null) throw new ApiError('ARCHIVE_OFF', 'the evidence archive is off (DATABASE_URL is not set): packs are made from the archive');
    const own = teamOf(principal);
    const team = await archivedTeam(db, episodeId);
    if (team === null) {
      const live = await ctx.records.read(episodeId);
      if (live === null || (own !== null && live.team !== own)) throw missing();
      throw new ApiError('EPISODE_NOT_ARCHIVED', `alert ${JSON.stringify(episodeId)} is not in the archive yet; packs are made from the archive, try again shortly`);
    }
    if (own !== null && team !== own) throw missing();
    const doc = await buildAlertPack(db, episodeId, { settings, requestedBy: `${roleName(principal.role)} (token ${principal.tokenId})`, purpose: query.purpose });
    if (doc === null) throw new ApiError('EPISODE_NOT_ARCHIVED', `alert ${JSON.stringify(episodeId)} is not in the archive yet`);
    await audit(ctx, 'alert.evidence-pack', episodeId, principal, {
      purpose: query.purpose, format: query.format, digest: doc.digest, reproduced: doc.reproducibility.ok, positions: doc.positions.length,
    });
    return sendPack(reply, doc, query.format, episodeId);
  });
};

/**
 * Renders a pack (off the event loop) and sets the answer's headers: the PDF as an attachment,
 * the HTML inline under a CSP that allows only its own stylesheet. The crime-match routes send
 * their packs (crimeMatchPack) through this too.
 */
export function sendPack(reply: FastifyReply, doc: PackDocument, format: 'pdf' | 'html', reference: string): Promise<Buffer> {
  const file = `evidence-pack-${reference.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120)}`;
  if (format === 'html') reply.type('text/html; charset=utf-8').header('content-security-policy', HTML_CSP).header('content-disposition', `inline; filename="${file}.html"`);
  else reply.type('application/pdf').header('content-disposition', `attachment; filename="${file}.pdf"`);
  return renderInWorker(doc, format);
}
