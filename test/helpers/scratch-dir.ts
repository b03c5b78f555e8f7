import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup: every test writes its fixtures under one scratch directory (TMPDIR, which
 * os.tmpdir() and the forked test workers inherit), removed when the run ends, so runs leave
 * nothing behind in the system's temp directory.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'encord-media-tests-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
