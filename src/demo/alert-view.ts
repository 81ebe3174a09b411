import type { AlertEvent } from '../engine/alert.js';
import { londonTime } from './sim-clock.js';

/**
 * The terminal: one line per alert event, and below them a single progress line that is
 * rewritten in place. When stdout is not a terminal (piped to a file), the progress line is
 * printed as an ordinary line every 10 s instead, and there are no colours.
 */
export class Terminal {
  private progressText = '';
  private lastPlainProgressMs = 0;
  readonly tty: boolean;
  readonly color: boolean;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = out.isTTY === true;
    this.color = this.tty && process.env.NO_COLOR === undefined;
  }

  /** A permanent line above the progress line. */
  line(text: string): void {
    if (this.tty && this.progressText !== '') this.out.write(`\r\x1b[K${text}\n${this.progressText}`);
    else this.out.write(`${text}\n`);
  }

  progress(text: string, force = false): void {
    this.progressText = text;
    if (this.tty) {
      this.out.write(`\r\x1b[K${text}`);
    } else if (force || Date.now() - this.lastPlainProgressMs >= 10_000) {
      this.lastPlainProgressMs = Date.now();
      this.out.write(`${text}\n`);
    }
  }

  /** Leaves the progress line as it stands and moves below it. */
  endProgress(): void {
    if (this.tty && this.progressText !== '') this.out.write('\n');
    this.progressText = '';
  }

  paint(text: string, code: number): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
}

const SEVERITY_COLOUR: Record<string, number> = { critical: 31, high: 33, medium: 36, low: 2 };

/** "19:02:11  OPENED   exclusion          critical  confirmed  DEMO-ab12-S017  zone …" */
export function formatAlert(e: AlertEvent, term: Terminal, note: string): string {
  const event = e.event.toUpperCase().padEnd(7);
  const paintedEvent = e.event === 'opened' ? term.paint(event, 1) : e.event === 'closed' ? term.paint(event, 32) : event;
  const extras: string[] = [];
  if (e.zoneId !== undefined) extras.push(`zone ${e.zoneId}`);
  if (e.withinM !== undefined) extras.push(`within ${e.withinM} m of the victim`);
  if (e.fix === undefined) extras.push('(timer)');
  else if (e.fix.lat === undefined) extras.push('(heartbeat, no position)');
  if (e.late) extras.push('LATE');
  if (note !== '') extras.push(term.paint(note, 2));
  return [
    londonTime(Date.parse(e.at)),
    paintedEvent,
    e.type.padEnd(17),
    term.paint(e.severity.padEnd(8), SEVERITY_COLOUR[e.severity] ?? 0),
    e.confidence.padEnd(9),
    e.subjectId,
    ...extras,
  ].join('  ');
}
