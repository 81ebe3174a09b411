/**
 * Calls `line` for every non-blank line of NDJSON `text`, trimmed: the same line splitting as
 * src/cli/replay.ts, so the replay benchmark's floor and its own parse time split alike.
 */
export function forEachNdjsonLine(text: string, line: (l: string) => void): void {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const l = text.slice(start, end).trim();
    start = end + 1;
    if (l !== '') line(l);
  }
}
