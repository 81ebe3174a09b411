/**
 * The engine version printed in a pack: the package version from package.json, and the git
 * commit of the checkout the service runs from, read once (at the first pack after start) with
 * `git rev-parse HEAD` and `git status --porcelain --untracked-files=no` (a modified tracked file
 * is said, since then the commit alone does not describe the code). Without git or a checkout
 * (an installed tarball) the line says the commit is unknown.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/** The directory holding the project's package.json (this file runs from src/ or dist/src/). */
function projectRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: string }).name === 'iom-geofence') return dir;
      } catch { /* not ours */ }
    }
    dir = dirname(dir);
  }
  return null;
}

function git(root: string, args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** "iom-geofence 0.1.0, git commit 0873bcf… (clean)". */
export function engineVersion(): string {
  if (cached !== null) return cached;
  const root = projectRoot();
  if (root === null) return (cached = 'iom-geofence (version unknown: package.json not found)');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  const commit = git(root, ['rev-parse', 'HEAD']);
  let text = `${pkg.name} ${pkg.version}`;
  if (commit === null || !/^[0-9a-f]{40}$/.test(commit)) text += ', git commit unknown (not run from a git checkout)';
  else {
    const dirty = git(root, ['status', '--porcelain', '--untracked-files=no']);
    text += `, git commit ${commit}${dirty === null ? '' : dirty === '' ? ' (no local modifications)' : ' (WITH local modifications to tracked files)'}`;
  }
  return (cached = text);
}
