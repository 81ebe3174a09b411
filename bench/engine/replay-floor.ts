/**
 * The floor for replay: read the NDJSON fixes file and JSON.parse every line, nothing else (no
 * validation, no engine, no output beyond a count). Run as a child process by replay-run.ts,
 * exactly like the replay CLI, so process start-up is in both figures.
 *
 *   node dist/bench/engine/replay-floor.js fixes.ndjson
 */
import { readFileSync } from 'node:fs';
import { forEachNdjsonLine } from '../common/ndjson.js';

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: replay-floor.js FILE.ndjson\n');
  process.exit(2);
}
const text = readFileSync(path, 'utf8');
let lines = 0;
let acc = 0;
forEachNdjsonLine(text, (line) => {
  const v = JSON.parse(line) as { seq: number };
  acc += v.seq;
  lines++;
});
process.stdout.write(`${lines} lines (sink ${acc})\n`);
