#!/usr/bin/env node
// DICOM probe vs pydicom, in the same run over the same files:
//   ours:    probeDicom (header only, stop before Pixel Data)
//   pydicom: dcmread(force=True, stop_before_pixels=True) + to_json_dict(), one Python process
// Prints files/s for both, the ratio, and bytes read per file against the Pixel Data offset.
//
//   npm run build && node bench/dicom.mjs [DIR]      (DIR defaults to the corpus DICOM folder)
//   PYDICOM_PYTHON=/path/to/python picks the interpreter (default: /usr/bin/python3, then python3)

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { probeDicom } from '../dist/probes/dicom.js';
import { FileSource } from '../dist/sources/index.js';

const dir = process.argv[2] ?? '/work/shared/corpus/dicom';
const ROUNDS = 3;
const files = readdirSync(dir)
  .filter((name) => name !== 'expected.jsonl')
  .map((name) => join(dir, name))
  .filter((path) => statSync(path).isFile());
const context = { options: {}, detection: { modality: 'dicom', mime: 'application/dicom', format: 'dicom', warnings: [] } };

/** One pass over the files with `inFlight` probes at a time (the I/O is asynchronous). */
async function oursOnce(inFlight) {
  const reads = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const path = files[next++];
      const source = new FileSource(path, path, { blocking: true }); // read as the CLI reads files
      const result = await probeDicom(source, context).catch(() => undefined);
      reads.push({ path, bytesRead: source.bytesRead, pixelDataOffset: result?.details?.pixelDataOffset ?? null });
      await source.close();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { seconds: (performance.now() - start) / 1000, reads };
}

async function bestOf(inFlight) {
  let best;
  for (let i = 0; i < ROUNDS; i++) {
    const round = await oursOnce(inFlight);
    if (!best || round.seconds < best.seconds) best = round;
  }
  return best;
}

const PYDICOM_SCRIPT = `
import sys, time, warnings, logging
warnings.simplefilter('ignore'); logging.disable(logging.CRITICAL)
import pydicom
from pydicom import dcmread
files = sys.stdin.read().split('\\n')
best = None
for _ in range(${ROUNDS}):
    start = time.perf_counter()
    for path in files:
        try:
            dcmread(path, force=True, stop_before_pixels=True).to_json_dict()
        except Exception:
            pass
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
print(pydicom.__version__, best)
`;

function findPython() {
  const candidates = [process.env.PYDICOM_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  return candidates.find((python) => spawnSync(python, ['-c', 'import pydicom'], { stdio: 'ignore' }).status === 0);
}

function pydicomSeconds(python) {
  const run = spawnSync(python, ['-c', PYDICOM_SCRIPT], { input: files.join('\n'), encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) throw new Error(`pydicom run failed: ${run.stderr}`);
  const [version, seconds] = run.stdout.trim().split(' ');
  return { version, seconds: Number(seconds) };
}

const IN_FLIGHT = 8;
const ours = await bestOf(1);
const oursConcurrent = await bestOf(IN_FLIGHT);
const rate = (seconds) => (files.length / seconds).toFixed(0);
console.log(`DICOM files: ${files.length} in ${dir} (best of ${ROUNDS} rounds each)`);
console.log(`ours:    ${rate(ours.seconds)} files/s one at a time, ${rate(oursConcurrent.seconds)} files/s with ${IN_FLIGHT} in flight`);

const python = findPython();
if (!python) {
  console.log('pydicom: not installed (set PYDICOM_PYTHON to a python with pydicom); reference skipped');
} else {
  const reference = pydicomSeconds(python);
  console.log(`pydicom: ${rate(reference.seconds)} files/s (pydicom ${reference.version}, ${python})`);
  const ratio = (seconds) => (reference.seconds / seconds).toFixed(1);
  console.log(`ratio:   ${ratio(ours.seconds)}x one at a time, ${ratio(oursConcurrent.seconds)}x with ${IN_FLIGHT} in flight (goal >= 10x)`);
}

const withPixels = ours.reads.filter((r) => r.pixelDataOffset !== null);
const mean = (list, key) => list.reduce((sum, r) => sum + (typeof key === 'function' ? key(r) : r[key]), 0) / Math.max(1, list.length);
const size = (r) => statSync(r.path).size;
console.log(
  `bytes read: ${mean(ours.reads, 'bytesRead').toFixed(0)} per file on average, file size ${mean(ours.reads, size).toFixed(0)}; ` +
    `files with Pixel Data (${withPixels.length}): ${mean(withPixels, 'bytesRead').toFixed(0)} read vs Pixel Data at ${mean(withPixels, 'pixelDataOffset').toFixed(0)}`,
);
const overshoot = withPixels.filter((r) => r.bytesRead > Math.max(r.pixelDataOffset * 2, r.pixelDataOffset + 64 * 1024 + 64));
console.log(`files reading past max(2 x Pixel Data offset, offset + 64 KiB): ${overshoot.length}${overshoot.length ? ` (${overshoot.map((r) => r.path).join(', ')})` : ''}`);
