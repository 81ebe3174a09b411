// Evidence packs (issue 14, part 3): the pack as data, built from the archive (alert episode) or
// from a reviewed crime match, and its two renderings.
export { buildAlertPack, type AlertPackOptions } from './alert-pack.js';
export { crimeMatchPack } from './crime-pack.js';
export type { CrimeMatchPackInput, PackDocument, PackFix } from './model.js';
export { HTML_CSP, renderHtml } from './render-html.js';
export { renderPdf } from './render-pdf.js';
export { renderInWorker } from './render-worker.js';
