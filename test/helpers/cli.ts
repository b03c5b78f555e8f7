import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');
/** The shared corpus beside the repository; conformance tests run only when it is there. */
export const corpusDir = join(repoRoot, '..', 'shared', 'corpus');
export const hasCorpus = existsSync(join(corpusDir, 'expected.jsonl'));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds first) and resolves with its exit code and output. */
export function runCli(args: string[], options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return runNode([cliPath, ...args], options);
}

export function runNode(args: string[], options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { cwd: options.cwd ?? repoRoot, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}
