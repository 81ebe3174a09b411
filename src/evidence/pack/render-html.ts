/**
 * The pack as one self-contained HTML page: inline CSS and an inline SVG map, no script, no
 * external request of any kind (fonts, images, tiles), laid out to print on A4.
 * `HTML_CSP` is the Content-Security-Policy the route sends with it: only this stylesheet.
 */
import { createHash } from 'node:crypto';
import { WITNESS } from './common-text.js';
import { compass, deg5, utc, ukLocal, when } from './format.js';
import { layoutMap } from './map.js';
import type { PackDocument } from './model.js';

const CSS = `
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10pt/1.35 "Helvetica Neue", Helvetica, Arial, sans-serif; color: #111; margin: 0 auto; max-width: 190mm; padding: 8px; }
h1 { font-size: 17pt; margin: 0 0 4px; }
h2 { font-size: 12pt; margin: 18px 0 6px; border-bottom: 1px solid #999; padding-bottom: 2px; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th { background: #eee; }
tr.hl td { font-weight: bold; background: #fff4d6; }
table.ids td:first-child { width: 22%; font-weight: bold; white-space: nowrap; background: #f6f6f6; }
table.pos td { white-space: nowrap; }
table.pos td:last-child { white-space: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.repro { border: 2px solid; padding: 6px 8px; margin: 10px 0; font-weight: bold; }
.repro.ok { border-color: #1b7f3b; color: #145c2b; }
.repro.bad { border-color: #b00020; color: #8a0019; }
.map { border: 1px solid #666; width: 100%; height: auto; display: block; }
.caption, .note { font-size: 8.5pt; color: #333; }
.disclaimer p { margin: 4px 0; }
.witness { page-break-before: always; border: 1px solid #333; padding: 10px 12px; }
.witness h2 { border: 0; text-align: center; margin-top: 0; }
.witness .act { text-align: center; font-size: 8.5pt; margin-bottom: 10px; }
.field { margin: 8px 0; }
.blank { display: inline-block; border-bottom: 1px solid #000; min-width: 60%; height: 1.1em; }
.lines div { border-bottom: 1px solid #888; height: 1.7em; }
.digest { font-family: monospace; font-size: 8pt; word-break: break-all; }
@media print { body { max-width: none; padding: 0; } .map { page-break-inside: avoid; } }
`;

/** The CSP the route sends with the page: no script, no fetch, only the inline stylesheet. */
export const HTML_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'; img-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const f1 = (n: number): string => n.toFixed(1);

/** The map as inline SVG (presentation attributes only: no style attributes, so the CSP holds). */
export function mapSvg(doc: PackDocument, width = 720, height = 500): string {
  const m = layoutMap(doc, width, height, 10);
  const out: string[] = [];
  out.push(`<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(doc.map.caption)}">`);
  out.push(`<defs><clipPath id="frame"><rect x="0" y="0" width="${width}" height="${height}"/></clipPath></defs>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fbfbf8"/>`);
  out.push('<g clip-path="url(#frame)">');
  for (const a of m.areas) {
    const fill = a.role === 'crime' ? '#d9480f' : '#c92a2a';
    if (a.kind === 'circle') out.push(`<circle cx="${f1(a.cx)}" cy="${f1(a.cy)}" r="${f1(a.r)}" fill="${fill}" fill-opacity="0.12" stroke="${fill}" stroke-width="2"${a.role === 'crime' ? ' stroke-dasharray="6 4"' : ''}/>`);
    else out.push(`<path d="${a.rings.map((r) => `M${r.map(([x, y]) => `${f1(x)},${f1(y)}`).join('L')}Z`).join('')}" fill="${fill}" fill-opacity="0.12" fill-rule="evenodd" stroke="${fill}" stroke-width="2"/>`);
  }
  for (const f of m.fixes) out.push(`<circle cx="${f1(f.x)}" cy="${f1(f.y)}" r="${f1(Math.max(f.r, 0.5))}" fill="#1c7ed6" fill-opacity="0.08" stroke="#1c7ed6" stroke-opacity="0.5" stroke-width="0.7"/>`);
  if (m.trail.length > 1) out.push(`<polyline points="${m.trail.map(([x, y]) => `${f1(x)},${f1(y)}`).join(' ')}" fill="none" stroke="#1864ab" stroke-width="1.6" stroke-linejoin="round"/>`);
  for (const f of m.fixes) {
    out.push(`<circle cx="${f1(f.x)}" cy="${f1(f.y)}" r="${f.highlight ? 3.6 : 2.4}" fill="${f.highlight ? '#e8590c' : '#1864ab'}" stroke="#fff" stroke-width="0.8"/>`);
    if (f.labelled) out.push(`<text x="${f1(f.x + 4)}" y="${f1(f.y - 4)}" font-size="${f.highlight ? 11 : 9}" font-weight="${f.highlight ? 'bold' : 'normal'}" font-family="Helvetica, Arial, sans-serif" fill="#111" stroke="#fff" stroke-width="2.5" paint-order="stroke">${f.no}</text>`);
  }
  if (m.marker !== null) {
    const { x, y } = m.marker;
    out.push(`<path d="M${f1(x - 7)},${f1(y - 7)}L${f1(x + 7)},${f1(y + 7)}M${f1(x - 7)},${f1(y + 7)}L${f1(x + 7)},${f1(y - 7)}" stroke="#000" stroke-width="2.5"/>`);
  }
  out.push('</g>');
  const { north: n, scaleBar: b } = m;
  out.push(`<path d="M${n.x},${n.y}l${n.size / 2.5},${n.size}l-${n.size / 2.5},-${n.size / 3.5}l-${n.size / 2.5},${n.size / 3.5}Z" fill="#111"/>`);
  out.push(`<text x="${n.x}" y="${n.y + n.size + 12}" font-size="11" font-weight="bold" text-anchor="middle" font-family="Helvetica, Arial, sans-serif">N</text>`);
  out.push(`<rect x="${b.x}" y="${b.y - 4}" width="${f1(b.lengthPx / 2)}" height="5" fill="#111"/><rect x="${f1(b.x + b.lengthPx / 2)}" y="${b.y - 4}" width="${f1(b.lengthPx / 2)}" height="5" fill="#fff" stroke="#111" stroke-width="1"/>`);
  out.push(`<text x="${f1(b.x + b.lengthPx + 6)}" y="${b.y + 1}" font-size="10" font-family="Helvetica, Arial, sans-serif">${esc(b.label)}</text>`);
  const legend: [string, string][] = [
    ['trail (order of positions)', '<path d="M0,0h16" stroke="#1864ab" stroke-width="1.6"/>'],
    ['position and its number', '<circle cx="8" cy="0" r="2.4" fill="#1864ab"/>'],
    ['position an event or match refers to', '<circle cx="8" cy="0" r="3.6" fill="#e8590c"/>'],
    ['accuracy circle', '<circle cx="8" cy="0" r="5" fill="none" stroke="#1c7ed6"/>'],
  ];
  const first = doc.map.areas[0];
  if (first !== undefined) {
    const c = first.role === 'crime' ? '#d9480f' : '#c92a2a';
    legend.push([first.role === 'crime' ? 'search radius around the crime location' : first.label, `<rect x="2" y="-4" width="12" height="8" fill="${c}" fill-opacity="0.15" stroke="${c}"/>`]);
  }
  if (doc.map.marker !== undefined) legend.push(['crime location', '<path d="M3,-5L13,5M3,5L13,-5" stroke="#000" stroke-width="2"/>']);
  out.push(`<g transform="translate(8,8)"><rect width="${Math.max(...legend.map(([t]) => t.length)) * 5.6 + 34}" height="${legend.length * 14 + 8}" fill="#fff" fill-opacity="0.85" stroke="#999" stroke-width="0.5"/>`);
  legend.forEach(([t, sym], i) => out.push(`<g transform="translate(6,${12 + i * 14})">${sym}<text x="24" y="3.5" font-size="10" font-family="Helvetica, Arial, sans-serif">${esc(t)}</text></g>`));
  out.push('</g>');
  out.push(`<rect x="0.5" y="0.5" width="${width - 1}" height="${height - 1}" fill="none" stroke="#666"/>`);
  out.push('</svg>');
  return out.join('');
}

function table(columns: string[], rows: string[][], cls = ''): string {
  return `<table${cls === '' ? '' : ` class="${cls}"`}><thead><tr>${columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The positions table's header and one row per position (shared wording with the PDF). */
export const POSITION_COLUMNS = ['No.', 'UK local time', 'UTC', 'Latitude', 'Longitude', 'Accuracy', 'Speed', 'Direction'];

export function positionCells(p: PackDocument['positions'][number]): string[] {
  return [
    String(p.no), ukLocal(p.ts), utc(p.ts), deg5(p.lat), deg5(p.lon), `${Math.round(p.accuracyM)} m${p.accuracyAssumed ? '*' : ''}`,
    p.speedKmh === null ? '-' : `${p.speedKmh.toFixed(1)} km/h`, p.headingDeg === null ? '-' : compass(p.headingDeg), p.relation,
  ];
}

export function renderHtml(doc: PackDocument): string {
  const h: string[] = [];
  h.push('<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">');
  h.push(`<title>${esc(doc.title)} - ${esc(doc.identifiers[0]?.[1] ?? '')}</title>`);
  h.push(`<style>${CSS}</style></head><body>`);
  h.push(`<h1>${esc(doc.title)}</h1>`);
  h.push(table(['Item', 'Value'], [
    ...doc.identifiers.map(([k, v]) => [k, v]),
    ['Pack made', when(doc.generatedAt)],
    ['Requested by', doc.requestedBy],
    ['Purpose stated', doc.purpose],
  ], 'ids').replace('<thead><tr><th>Item</th><th>Value</th></tr></thead>', ''));
  h.push(`<div class="repro ${doc.reproducibility.ok ? 'ok' : 'bad'}">${esc(doc.reproducibility.line)}</div>`);

  h.push('<h2>Map</h2>');
  h.push(mapSvg(doc));
  const note = layoutMap(doc, 720, 500, 10).note;
  h.push(`<p class="caption">${esc(doc.map.caption)} Web Mercator projection; north is up; the scale bar is true at the centre of the map. Numbers match the positions table.${note === null ? '' : ` ${esc(note)}`}</p>`);

  h.push('<h2>Positions</h2>');
  h.push(`<table class="pos"><thead><tr>${[...POSITION_COLUMNS, doc.relationHeading].map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>`);
  for (const p of doc.positions) {
    const cells = positionCells(p);
    h.push(`<tr${p.highlight ? ' class="hl"' : ''}>${cells.map((c, i) => `<td${i === 0 || (i >= 3 && i <= 6) ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`);
  }
  h.push('</tbody></table>');
  for (const n of doc.positionsNotes) h.push(`<p class="note">${esc(n)}</p>`);

  for (const s of doc.sections) {
    h.push(`<h2>${esc(s.heading)}</h2>`);
    for (const p of s.paragraphs) h.push(`<p>${esc(p)}</p>`);
    if (s.table !== undefined) h.push(table(s.table.columns, s.table.rows));
  }

  h.push('<h2>Reproducibility</h2>');
  h.push(`<div class="repro ${doc.reproducibility.ok ? 'ok' : 'bad'}">${esc(doc.reproducibility.line)}</div>`);
  for (const d of doc.reproducibility.details) h.push(`<p class="note">${esc(d)}</p>`);

  h.push('<h2>Please read: what this pack does and does not show</h2><div class="disclaimer">');
  for (const d of doc.disclaimer) h.push(`<p>${esc(d)}</p>`);
  h.push(`</div><p class="note">Pack digest (SHA-256 of its contents; the HTML and PDF of one pack carry the same): <span class="digest">${doc.digest}</span></p>`);

  h.push(`<section class="witness"><h2>${esc(WITNESS.heading)}</h2><div class="act">${esc(WITNESS.act)}</div>`);
  h.push(`<div class="field">${esc(WITNESS.fields[0])} <span class="blank"></span></div>`);
  h.push(`<div class="field">${esc(WITNESS.fields[1])} <b>${esc(WITNESS.ageDefault)}</b></div>`);
  h.push(`<div class="field">${esc(WITNESS.fields[2])} <span class="blank"></span></div>`);
  h.push(`<p>${esc(WITNESS.declaration)}</p>`);
  h.push(`<div class="field">${esc(WITNESS.signature[0])} <span class="blank"></span></div><div class="field">${esc(WITNESS.signature[1])} <span class="blank"></span></div>`);
  h.push(`<p><b>Exhibit:</b> ${esc(doc.witness.exhibit)} (digest ${doc.digest.slice(0, 16)}…).</p>`);
  for (const f of doc.witness.facts) h.push(`<p>${esc(f)}</p>`);
  h.push(`<p>${esc(WITNESS.body)}</p><div class="lines">${'<div></div>'.repeat(12)}</div>`);
  h.push(`<div class="field">${esc(WITNESS.signature[0])} <span class="blank"></span></div>`);
  h.push('</section></body></html>');
  return h.join('\n');
}
