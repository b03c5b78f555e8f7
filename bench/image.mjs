#!/usr/bin/env node
// Image probe throughput vs ExifTool, in the same run, over the same files.
//
//   npm run build && node bench/image.mjs [DIR]
//
// DIR defaults to the shared corpus's image folder; without it, sharp writes a sample set.
// ExifTool runs as one batch process over all files (`exiftool -fast2 -j -@ LIST`), its
// fastest mode; it is skipped, with a note, when it is not installed.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeImage } from '../dist/probes/image.js';
import { FileSource } from '../dist/sources/file.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpusImages = join(here, '..', '..', 'shared', 'corpus', 'image');
const ROUNDS = 3;
const CONCURRENCY = 8;

const dir = process.argv[2] ?? (existsSync(corpusImages) ? corpusImages : await writeSampleSet());
const files = readdirSync(dir).map((name) => join(dir, name)).filter((path) => statSync(path).isFile() && !path.endsWith('.jsonl'));
const context = { options: {}, detection: { modality: 'image', mime: '', format: '', warnings: [] } };

async function probeOne(path) {
  const source = new FileSource(path, path, { blocking: true }); // read as the CLI reads files
  try {
    await probeImage(source, context);
  } catch {
    // Errors (unsupported, truncated) are answers too; they count like any other file.
  } finally {
    await source.close();
  }
}

async function timeOurs(concurrency) {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < files.length) await probeOne(files[next++]);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function timeExiftool() {
  if (spawnSync('exiftool', ['-ver']).status !== 0) return undefined;
  const list = join(mkdtempSync(join(tmpdir(), 'bench-image-')), 'files.txt');
  writeFileSync(list, files.join('\n'));
  const start = performance.now();
  const run = spawnSync('exiftool', ['-fast2', '-j', '-@', list], { maxBuffer: 1 << 30 });
  const ms = performance.now() - start;
  if (run.error) throw run.error;
  return ms;
}

async function writeSampleSet() {
  const { default: sharp } = await import('sharp');
  const out = mkdtempSync(join(tmpdir(), 'bench-image-set-'));
  const formats = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'];
  for (let i = 0; i < 120; i++) {
    const format = formats[i % formats.length];
    const image = sharp({ create: { width: 200 + i, height: 150 + i, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });
    writeFileSync(join(out, `sample${i}.${format}`), await image.withMetadata({ orientation: 1 + (i % 8) }).toFormat(format).toBuffer());
  }
  return out;
}

const rate = (ms) => (files.length / ms) * 1000;
const sequential = await timeOurs(1);
const concurrent = await timeOurs(CONCURRENCY);
const exiftool = timeExiftool();

console.log(`${files.length} files from ${dir}`);
console.log(`encord-media probeImage, sequential:      ${rate(sequential).toFixed(0)} files/s (${sequential.toFixed(0)} ms, best of ${ROUNDS})`);
console.log(`encord-media probeImage, ${CONCURRENCY} at a time:     ${rate(concurrent).toFixed(0)} files/s (${concurrent.toFixed(0)} ms)`);
if (exiftool === undefined) {
  console.log('exiftool not installed: reference skipped');
} else {
  console.log(`exiftool -fast2 -j (one batch process):  ${rate(exiftool).toFixed(0)} files/s (${exiftool.toFixed(0)} ms)`);
  console.log(`ratio: ${(exiftool / sequential).toFixed(1)}x exiftool sequential, ${(exiftool / concurrent).toFixed(1)}x with ${CONCURRENCY} at a time`);
}
