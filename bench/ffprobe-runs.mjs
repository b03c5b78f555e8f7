// Which files start an ffprobe process when probed as the CLI probes them. Counted outside the
// timed passes, in a child process whose FFPROBE_PATH is a wrapper script that logs each input
// before running the real binary: exact, where guessing from results or error wording is not
// (in-process refusals may name ffprobe or the decoder in their message).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveFfprobe } from '../dist/probes/ffprobe.js';

const probeModule = fileURLToPath(new URL('../dist/probes/index.js', import.meta.url));

/** The files of `files` that started ffprobe at least once (none when no ffprobe is found). */
export function filesStartingFfprobe(files) {
  const dir = mkdtempSync(join(tmpdir(), 'ffprobe-runs-'));
  try {
    const log = join(dir, 'inputs.log');
    const wrapper = join(dir, 'ffprobe');
    // The input is the last argument, given as file:PATH (or a local proxy URL for streams).
    writeFileSync(wrapper, `#!/bin/sh\nfor a in "$@"; do last="$a"; done\nprintf '%s\\n' "$last" >> '${log}'\nexec '${resolveFfprobe()}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const script = `const { probe } = await import(${JSON.stringify(probeModule)});
for (const path of JSON.parse(process.argv[1])) await probe(path, { blocking: true }).catch(() => {});`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], { env: { ...process.env, FFPROBE_PATH: wrapper }, stdio: 'ignore' });
    const started = new Set(existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((input) => input.replace(/^file:/, '')) : []);
    return files.filter((path) => started.has(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
