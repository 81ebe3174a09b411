/**
 * Rendering off the service's event loop: a 2,000-position pack is some 55 PDF pages and takes
 * pdfkit seconds of CPU (measured ~4 s on a loaded 2-core machine), which on the main thread
 * would stall ingest acknowledgements and /healthz. `renderInWorker` hands the finished
 * PackDocument (plain data) to a worker thread, one render at a time, and gets the bytes back.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import type { PackDocument } from './model.js';
import { renderHtml } from './render-html.js';
import { renderPdf } from './render-pdf.js';

type Request = { doc: PackDocument; format: 'pdf' | 'html' };
type Reply = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

/** This module compiled: next to itself when running JavaScript; under the test runner, in dist/. */
function workerScript(): URL {
  const own = new URL('./render-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(own))) return own;
  return new URL('../../../dist/src/evidence/pack/render-worker.js', import.meta.url);
}

let queue: Promise<unknown> = Promise.resolve();

/** The pack rendered as PDF or HTML (UTF-8) in a worker thread; renders run one after another. */
export function renderInWorker(doc: PackDocument, format: 'pdf' | 'html'): Promise<Buffer> {
  const run = queue.then(() => new Promise<Buffer>((done, fail) => {
    const worker = new Worker(workerScript(), { workerData: { packRender: true } });
    worker.once('message', (reply: Reply) => {
      void worker.terminate();
      if (reply.ok) done(Buffer.from(reply.bytes.buffer, reply.bytes.byteOffset, reply.bytes.byteLength));
      else fail(new Error(`evidence pack rendering failed: ${reply.message}`));
    });
    worker.once('error', fail);
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`evidence pack render worker exited with ${code}`));
    });
    worker.postMessage({ doc, format } satisfies Request);
  }));
  queue = run.catch(() => undefined);
  return run;
}

if (parentPort !== null && (workerData as { packRender?: boolean } | null)?.packRender === true) {
  const port = parentPort;
  port.once('message', (m: Request) => {
    void (async () => {
      try {
        const buf = m.format === 'pdf' ? await renderPdf(m.doc) : Buffer.from(renderHtml(m.doc), 'utf8');
        const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        port.postMessage({ ok: true, bytes } satisfies Reply);
      } catch (e) {
        port.postMessage({ ok: false, message: (e as Error).message } satisfies Reply);
      }
    })();
  });
}
