/**
 * The one SIGTERM/SIGINT path of the service and the delivery workers: the first signal starts
 * the graceful stop; a watchdog ends the process if that stop has not finished within
 * SHUTDOWN_WATCHDOG_MS (a supervisor expects the process to end, even with Redis gone); further
 * signals are ignored. Exit code 0 after a clean stop, 1 otherwise.
 */
export const SHUTDOWN_WATCHDOG_MS = 30_000;

export function onShutdownSignal(
  name: string,
  stop: (signal: NodeJS.Signals) => Promise<void>,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      say(`${name}: still stopping ${SHUTDOWN_WATCHDOG_MS} ms after ${signal}; exiting`);
      process.exit(1);
    }, SHUTDOWN_WATCHDOG_MS).unref();
    stop(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        say(`${name}: error while stopping: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
