import { startService } from './service.js';

export default async function globalSetup(): Promise<void> {
  const env = await startService();
  // Workers inherit the environment globalSetup leaves behind.
  process.env.IOM_BROWSER_ENV = JSON.stringify(env);
}
