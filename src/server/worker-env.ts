/**
 * The environment a delivery worker process gets: the service's, without API_TOKENS (workers
 * need no token, and a child's environment is readable by anyone who can read its /proc).
 */
export function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  delete out.API_TOKENS;
  return out;
}
