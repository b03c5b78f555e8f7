#!/usr/bin/env node
// Runs every benchmark in this folder (bench/<area>.mjs), one after another, so each measures
// our probes against its reference tool in the same run on the same machine.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.mjs') && name !== 'run.mjs')
  .filter((name) => only.length === 0 || only.includes(name.replace(/\.mjs$/, '')))
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n== ${name.replace(/\.mjs$/, '')} ==`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(here, name)], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
