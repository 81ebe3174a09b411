/**
 * The pack as a PDF, made by the service with pdfkit: A4, the built-in Helvetica (no font files,
 * nothing fetched), the map drawn as vectors, tables that break across pages with their header
 * repeated, and on every page a footer with the pack's digest, "page i of n" and a space for the
 * witness's signature (a s.9 statement is signed on each page).
 */
import PDFDocument from 'pdfkit';
import { WITNESS } from './common-text.js';
import { when } from './format.js';
import { layoutMap } from './map.js';
import type { PackDocument } from './model.js';
import { POSITION_COLUMNS, positionCells } from './render-html.js';

type Pdf = PDFKit.PDFDocument;

const PAGE_W = 595.28, PAGE_H = 841.89;
const LEFT = 40, RIGHT = 40, TOP = 46, BOTTOM = 58;
const WIDTH = PAGE_W - LEFT - RIGHT;
const LIMIT = PAGE_H - BOTTOM;

/** Characters the built-in fonts can show (WinAnsi); anything else becomes "?". */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
export function pdfSafe(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    out += (c >= 0x20 && c < 0x7f) || (c >= 0xa0 && c <= 0xff) || WIN_ANSI_EXTRA.has(ch) ? ch : ch === '\n' ? ' ' : ch === '≤' ? '<=' : ch === '→' ? '->' : '?';
  }
  return out;
}

class Writer {
  constructor(readonly pdf: Pdf) {}

  get y(): number { return this.pdf.y; }

  /** Starts a new page unless `h` points fit on this one. */
  room(h: number): void {
    if (this.pdf.y + h > LIMIT) this.pdf.addPage();
  }

  heading(text: string): void {
    this.room(60);
    this.pdf.moveDown(0.6);
    this.pdf.font('Helvetica-Bold').fontSize(12).fillColor('#000').text(pdfSafe(text), LEFT, this.pdf.y, { width: WIDTH });
    const y = this.pdf.y + 1;
    this.pdf.moveTo(LEFT, y).lineTo(LEFT + WIDTH, y).lineWidth(0.6).strokeColor('#888').stroke();
    this.pdf.y = y + 5;
  }

  para(text: string, size = 9, font = 'Helvetica', color = '#111'): void {
    this.pdf.font(font).fontSize(size);
    this.room(Math.min(this.pdf.heightOfString(pdfSafe(text), { width: WIDTH }), 120) + 3);
    this.pdf.fillColor(color).text(pdfSafe(text), LEFT, this.pdf.y, { width: WIDTH });
    this.pdf.y += 3;
  }

  /** A table; `bold[i]` sets row i in bold on a tinted background. Header repeated on each page. */
  table(columns: string[], widths: number[], rows: string[][], size = 8, bold: boolean[] = []): void {
    const pdf = this.pdf;
    const pad = 2;
    const rowHeight = (cells: string[], font: string): number => {
      pdf.font(font).fontSize(size);
      return Math.max(...cells.map((c, i) => pdf.heightOfString(pdfSafe(c), { width: widths[i] - 2 * pad }))) + 2 * pad;
    };
    const draw = (cells: string[], font: string, fill: string | null): void => {
      const h = rowHeight(cells, font);
      let x = LEFT;
      const y = pdf.y;
      if (fill !== null) pdf.rect(LEFT, y, WIDTH, h).fillColor(fill).fill();
      pdf.font(font).fontSize(size).fillColor('#111');
      cells.forEach((c, i) => {
        pdf.text(pdfSafe(c), x + pad, y + pad, { width: widths[i] - 2 * pad, lineBreak: true });
        x += widths[i];
      });
      pdf.moveTo(LEFT, y + h).lineTo(LEFT + WIDTH, y + h).lineWidth(0.3).strokeColor('#bbb').stroke();
      pdf.x = LEFT;
      pdf.y = y + h;
    };
    const header = (): void => draw(columns, 'Helvetica-Bold', '#e9e9e9');
    this.room(rowHeight(columns, 'Helvetica-Bold') + 20);
    header();
    rows.forEach((r, i) => {
      const font = bold[i] === true ? 'Helvetica-Bold' : 'Helvetica';
      if (pdf.y + rowHeight(r, font) > LIMIT) {
        pdf.addPage();
        header();
      }
      draw(r, font, bold[i] === true ? '#fff1cc' : null);
    });
    pdf.y += 4;
  }

  /** Widths in proportion to the longest cell of each column (bounded), filling the page width. */
  static widths(columns: string[], rows: string[][]): number[] {
    const w = columns.map((c, i) => Math.min(45, Math.max(5, c.length * 0.8, ...rows.map((r) => (r[i] ?? '').length))));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((x) => (x / total) * WIDTH);
  }

  box(text: string, ok: boolean): void {
    const pdf = this.pdf;
    pdf.font('Helvetica-Bold').fontSize(10);
    const h = pdf.heightOfString(pdfSafe(text), { width: WIDTH - 16 }) + 10;
    this.room(h + 4);
    const y = pdf.y;
    const color = ok ? '#1b7f3b' : '#b00020';
    pdf.rect(LEFT, y, WIDTH, h).lineWidth(1.5).strokeColor(color).stroke();
    pdf.fillColor(color).text(pdfSafe(text), LEFT + 8, y + 7, { width: WIDTH - 16 });
    pdf.fillColor('#111');
    pdf.x = LEFT;
    pdf.y = y + h + 6;
  }
}

function drawMap(pdf: Pdf, doc: PackDocument, x0: number, y0: number, w: number, h: number): string | null {
  const m = layoutMap(doc, w, h, 7);
  const X = (x: number): number => x0 + x, Y = (y: number): number => y0 + y;
  pdf.save();
  pdf.rect(x0, y0, w, h).fillColor('#fbfbf8').fill();
  pdf.rect(x0, y0, w, h).clip();
  for (const a of m.areas) {
    const color = a.role === 'crime' ? '#d9480f' : '#c92a2a';
    if (a.kind === 'circle') pdf.circle(X(a.cx), Y(a.cy), a.r);
    else for (const ring of a.rings) ring.forEach(([x, y], i) => (i === 0 ? pdf.moveTo(X(x), Y(y)) : pdf.lineTo(X(x), Y(y))));
    if (a.kind === 'polygon') pdf.closePath();
    pdf.fillOpacity(0.12).strokeOpacity(1).lineWidth(1.5).fillColor(color).strokeColor(color);
    if (a.role === 'crime') pdf.dash(5, { space: 3 });
    pdf.fillAndStroke(color, color, 'even-odd');
    pdf.undash();
  }
  pdf.fillOpacity(0.07).strokeOpacity(0.5).lineWidth(0.5);
  for (const f of m.fixes) pdf.circle(X(f.x), Y(f.y), Math.max(f.r, 0.5)).fillAndStroke('#1c7ed6', '#1c7ed6');
  pdf.fillOpacity(1).strokeOpacity(1);
  if (m.trail.length > 1) {
    m.trail.forEach(([x, y], i) => (i === 0 ? pdf.moveTo(X(x), Y(y)) : pdf.lineTo(X(x), Y(y))));
    pdf.lineWidth(1.1).lineJoin('round').strokeColor('#1864ab').stroke();
  }
  for (const f of m.fixes) pdf.circle(X(f.x), Y(f.y), f.highlight ? 2.8 : 1.8).lineWidth(0.5).fillAndStroke(f.highlight ? '#e8590c' : '#1864ab', '#ffffff');
  for (const f of m.fixes) {
    if (!f.labelled) continue;
    pdf.font(f.highlight ? 'Helvetica-Bold' : 'Helvetica').fontSize(f.highlight ? 7.5 : 6.5);
    // A white halo under the number keeps it legible over the trail.
    const label = String(f.no);
    const tw = pdf.widthOfString(label);
    pdf.rect(X(f.x) + 2.5, Y(f.y) - 8.5, tw + 1.5, 7.5).fillOpacity(0.75).fillColor('#ffffff').fill();
    pdf.fillOpacity(1).fillColor('#111').text(label, X(f.x) + 3, Y(f.y) - 8, { lineBreak: false });
  }
  if (m.marker !== null) {
    const { x, y } = m.marker;
    pdf.moveTo(X(x - 6), Y(y - 6)).lineTo(X(x + 6), Y(y + 6)).moveTo(X(x - 6), Y(y + 6)).lineTo(X(x + 6), Y(y - 6)).lineWidth(2).strokeColor('#000').stroke();
  }
  pdf.restore();
  // North arrow and scale bar, over the frame.
  const n = m.north;
  pdf.moveTo(X(n.x), Y(n.y)).lineTo(X(n.x + n.size / 2.5), Y(n.y + n.size)).lineTo(X(n.x), Y(n.y + n.size * (1 - 1 / 3.5)))
    .lineTo(X(n.x - n.size / 2.5), Y(n.y + n.size)).closePath().fillColor('#111').fill();
  pdf.font('Helvetica-Bold').fontSize(9).fillColor('#111').text('N', X(n.x) - 3, Y(n.y + n.size + 2), { lineBreak: false });
  const b = m.scaleBar;
  pdf.rect(X(b.x), Y(b.y - 4), b.lengthPx / 2, 4).fillColor('#111').fill();
  pdf.rect(X(b.x + b.lengthPx / 2), Y(b.y - 4), b.lengthPx / 2, 4).lineWidth(0.8).fillAndStroke('#ffffff', '#111');
  pdf.font('Helvetica').fontSize(8).fillColor('#111').text(pdfSafe(b.label), X(b.x + b.lengthPx + 5), Y(b.y - 6), { lineBreak: false });
  // Legend, top left.
  const areaColor = doc.map.areas[0]?.role === 'crime' ? '#d9480f' : '#c92a2a';
  const items: [string, (x: number, y: number) => void][] = [
    ['trail (order of positions)', (x, y) => { pdf.moveTo(x, y).lineTo(x + 14, y).lineWidth(1.1).strokeColor('#1864ab').stroke(); }],
    ['position and its number', (x, y) => { pdf.circle(x + 7, y, 1.8).fillColor('#1864ab').fill(); }],
    ['position an event or match refers to', (x, y) => { pdf.circle(x + 7, y, 2.8).fillColor('#e8590c').fill(); }],
    ['accuracy circle', (x, y) => { pdf.circle(x + 7, y, 4).lineWidth(0.6).strokeColor('#1c7ed6').stroke(); }],
    ...(doc.map.areas.length > 0 ? [[doc.map.areas[0].role === 'crime' ? 'search radius around the crime location' : doc.map.areas[0].label, (x: number, y: number) => { pdf.rect(x + 2, y - 3.5, 10, 7).lineWidth(1).fillOpacity(0.15).fillAndStroke(areaColor, areaColor).fillOpacity(1); }] as [string, (x: number, y: number) => void]] : []),
    ...(doc.map.marker !== undefined ? [['crime location', (x: number, y: number) => { pdf.moveTo(x + 4, y - 3).lineTo(x + 10, y + 3).moveTo(x + 4, y + 3).lineTo(x + 10, y - 3).lineWidth(1.4).strokeColor('#000').stroke(); }] as [string, (x: number, y: number) => void]] : []),
  ];
  pdf.font('Helvetica').fontSize(6.5);
  const legendW = Math.max(...items.map(([t]) => pdf.widthOfString(pdfSafe(t)))) + 26;
  pdf.rect(x0 + 6, y0 + 6, legendW, items.length * 10 + 6).fillOpacity(0.85).fillColor('#ffffff').fill().fillOpacity(1);
  pdf.rect(x0 + 6, y0 + 6, legendW, items.length * 10 + 6).lineWidth(0.4).strokeColor('#999').stroke();
  items.forEach(([t, sym], i) => {
    const y = y0 + 14 + i * 10;
    sym(x0 + 9, y);
    pdf.font('Helvetica').fontSize(6.5).fillColor('#111').text(pdfSafe(t), x0 + 28, y - 3, { lineBreak: false });
  });
  pdf.rect(x0, y0, w, h).lineWidth(0.8).strokeColor('#666').stroke();
  pdf.x = LEFT;
  pdf.y = y0 + h + 4;
  return m.note;
}

/** Column widths of the positions table (points; the relation column takes the rest). */
const POS_WIDTHS = [18, 106, 82, 42, 46, 30, 40, 36];

export function renderPdf(doc: PackDocument): Promise<Buffer> {
  const pdf = new PDFDocument({
    size: 'A4', margins: { top: TOP, bottom: BOTTOM, left: LEFT, right: RIGHT }, bufferPages: true,
    info: { Title: pdfSafe(`${doc.title} - ${doc.identifiers[0]?.[1] ?? ''}`), Author: 'iom-geofence', Subject: pdfSafe(doc.identifiers[0]?.[1] ?? ''), CreationDate: new Date(doc.generatedAt) },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  const w = new Writer(pdf);

  // Title page: heading, identifiers, the reproducibility line, the map.
  pdf.font('Helvetica-Bold').fontSize(17).fillColor('#000').text(pdfSafe(doc.title), LEFT, TOP, { width: WIDTH });
  pdf.moveDown(0.3);
  const ids = [...doc.identifiers, ['Pack made', when(doc.generatedAt)], ['Requested by', doc.requestedBy], ['Purpose stated', doc.purpose]] as [string, string][];
  for (const [k, v] of ids) {
    const y = pdf.y;
    pdf.font('Helvetica-Bold').fontSize(8.5).text(pdfSafe(k), LEFT, y, { width: 100 });
    pdf.font('Helvetica').fontSize(8.5).text(pdfSafe(v), LEFT + 105, y, { width: WIDTH - 105 });
    pdf.y = Math.max(pdf.y, y + 11) + 1;
  }
  pdf.y += 4;
  w.box(doc.reproducibility.line, doc.reproducibility.ok);
  const mapH = Math.min(430, LIMIT - pdf.y - 44);
  if (mapH < 220) pdf.addPage();
  const note = drawMap(pdf, doc, LEFT, pdf.y, WIDTH, mapH < 220 ? 420 : mapH);
  w.para(`${doc.map.caption} Web Mercator projection; north is up; the scale bar is true at the centre of the map. Numbers match the positions table.${note === null ? '' : ` ${note}`}`, 7.5, 'Helvetica', '#333');

  // Positions.
  pdf.addPage();
  w.heading('Positions');
  const relW = WIDTH - POS_WIDTHS.reduce((a, b) => a + b, 0);
  w.table([...POSITION_COLUMNS.map((c) => (c === 'Accuracy' ? 'Acc.' : c)), doc.relationHeading], [...POS_WIDTHS, relW], doc.positions.map(positionCells), 7, doc.positions.map((p) => p.highlight));
  for (const n of doc.positionsNotes) w.para(n, 7.5, 'Helvetica', '#333');

  for (const s of doc.sections) {
    w.heading(s.heading);
    for (const p of s.paragraphs) w.para(p);
    if (s.table !== undefined) w.table(s.table.columns, Writer.widths(s.table.columns, s.table.rows), s.table.rows, 7.5);
  }

  w.heading('Reproducibility');
  w.box(doc.reproducibility.line, doc.reproducibility.ok);
  for (const d of doc.reproducibility.details) w.para(d, 8, 'Helvetica', '#333');

  w.heading('Please read: what this pack does and does not show');
  for (const d of doc.disclaimer) w.para(d);
  w.para(`Pack digest (SHA-256 of its contents; the HTML and the PDF of one pack carry the same): ${doc.digest}`, 7.5, 'Courier');

  // The witness statement, on a page of its own.
  pdf.addPage();
  pdf.font('Helvetica-Bold').fontSize(14).fillColor('#000').text(WITNESS.heading, LEFT, TOP, { width: WIDTH, align: 'center' });
  pdf.font('Helvetica').fontSize(8).text(pdfSafe(WITNESS.act), { width: WIDTH, align: 'center' });
  pdf.moveDown(1);
  const field = (label: string, value: string | null): void => {
    const y = pdf.y;
    pdf.font('Helvetica-Bold').fontSize(10).fillColor('#111').text(pdfSafe(label), LEFT, y, { width: 120 });
    if (value !== null) pdf.font('Helvetica').text(pdfSafe(value), LEFT + 125, y, { width: WIDTH - 125 });
    else pdf.moveTo(LEFT + 125, y + 11).lineTo(LEFT + WIDTH, y + 11).lineWidth(0.6).strokeColor('#000').stroke();
    pdf.x = LEFT;
    pdf.y = y + 20;
  };
  field(WITNESS.fields[0], null);
  field(WITNESS.fields[1], WITNESS.ageDefault);
  field(WITNESS.fields[2], null);
  pdf.moveDown(0.4);
  w.para(WITNESS.declaration, 9.5);
  pdf.moveDown(0.6);
  field(WITNESS.signature[0], null);
  field(WITNESS.signature[1], null);
  pdf.moveDown(0.4);
  w.para(`Exhibit: ${doc.witness.exhibit} (digest ${doc.digest.slice(0, 16)}...).`, 9.5, 'Helvetica-Bold');
  for (const f of doc.witness.facts) w.para(f, 9.5);
  pdf.moveDown(0.4);
  w.para(WITNESS.body, 9.5, 'Helvetica-Bold');
  for (let i = 0; i < 14 && pdf.y + 22 < LIMIT - 30; i++) {
    const y = pdf.y + 20;
    pdf.moveTo(LEFT, y).lineTo(LEFT + WIDTH, y).lineWidth(0.4).strokeColor('#888').stroke();
    pdf.y = y;
  }
  pdf.y += 16;
  if (pdf.y < LIMIT - 20) field(WITNESS.signature[0], null);

  // Footers: digest, page i of n, a space to sign each page.
  const range = pdf.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    pdf.switchToPage(i);
    const bottom = pdf.page.margins.bottom;
    pdf.page.margins.bottom = 0; // writing in the margin must not start a new page
    const y = PAGE_H - 40;
    pdf.moveTo(LEFT, y - 4).lineTo(LEFT + WIDTH, y - 4).lineWidth(0.4).strokeColor('#aaa').stroke();
    pdf.font('Helvetica').fontSize(7).fillColor('#444')
      .text(pdfSafe(`${doc.identifiers[0]?.[1] ?? ''} | pack ${doc.digest.slice(0, 16)} | page ${i - range.start + 1} of ${range.count}`), LEFT, y, { width: WIDTH * 0.62, lineBreak: false });
    pdf.text('Signed: ______________________', LEFT + WIDTH * 0.66, y, { width: WIDTH * 0.34, align: 'right', lineBreak: false });
    pdf.page.margins.bottom = bottom;
  }
  pdf.end();
  return done;
}
