#!/usr/bin/env node
// The README's main job: probe the sample media in test-assets/, build an Encord upload spec
// from it (with a failed file listed in the errors file, not dropped), and validate the spec.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const outDir = join(root, 'out');
mkdirSync(outDir, { recursive: true });

function step(title, args, okCodes = [0]) {
  console.log(`\n$ encord-media ${args.join(' ')}`);
  const { status } = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
  if (!okCodes.includes(status ?? 1)) {
    console.error(`${title} failed (exit ${status})`);
    process.exit(1);
  }
}

// Exit 1 is expected here: test-assets/sample/broken/ holds a deliberately truncated file.
step('probe', ['probe', 'test-assets/sample'], [0, 1]);
step('spec', [
  'spec', 'test-assets/sample',
  '--base-url', 's3://example-bucket/encord-media-sample/',
  '-o', 'out/upload.json',
  '--errors', 'out/errors.jsonl',
]);
step('validate', ['validate', 'out/upload.json']);
console.log('\nmain job done: out/upload.json (spec), out/errors.jsonl (files that could not be described)');
