import { stopService, type BrowserEnv } from './service.js';

export default async function globalTeardown(): Promise<void> {
  const raw = process.env.IOM_BROWSER_ENV;
  if (raw !== undefined) await stopService(JSON.parse(raw) as BrowserEnv);
}
