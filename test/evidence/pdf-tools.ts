// Reading the packs the way a person would: pdftotext for the words, pdftoppm for a page image
// (poppler-utils, installed by .ci/run).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const packDir = (): string => mkdtempSync(join(tmpdir(), 'iom-pack-'));

/** The PDF's text, laid out (`pdftotext -layout`). */
export function pdfText(pdf: Buffer): string {
  const dir = packDir();
  const file = join(dir, 'pack.pdf');
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

/** Whitespace runs as one space, so a table row reads as its cells in order. */
export function squash(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/** Page `page` rendered to PNG at `dpi` (pdftoppm -png); returns the PNG path. */
export function pdfPage(pdf: Buffer, page: number, dpi = 80, dir = packDir()): string {
  const file = join(dir, 'pack.pdf');
  writeFileSync(file, pdf);
  execFileSync('pdftoppm', ['-png', '-r', String(dpi), '-f', String(page), '-l', String(page), '-singlefile', file, join(dir, `page-${page}`)]);
  return join(dir, `page-${page}.png`);
}

/** Number of pages (pdfinfo). */
export function pdfPages(pdf: Buffer): number {
  const dir = packDir();
  const file = join(dir, 'pack.pdf');
  writeFileSync(file, pdf);
  const info = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
  return Number(/Pages:\s+(\d+)/.exec(info)?.[1] ?? 0);
}

export const readPng = (path: string): Buffer => readFileSync(path);
