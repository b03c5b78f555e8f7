#!/usr/bin/env node
// PDF probe throughput vs pdfinfo (poppler), in the same run, over the same files.
//
//   npm run build && node bench/pdf.mjs [DIR]
//
// DIR defaults to the shared corpus's pdf folder; without it, pdf-lib writes a sample set.
// pdfinfo reads one file per process, so it runs once per file, one at a time and then
// CONCURRENCY at a time; our probe runs the same two ways (best of ROUNDS). pdfinfo is
// skipped, with a note, when it is not installed.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probePdf } from '../dist/probes/pdf.js';
import { FileSource } from '../dist/sources/file.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpusPdfs = join(here, '..', '..', 'shared', 'corpus', 'pdf');
const ROUNDS = 3;
const CONCURRENCY = 8;

const dir = process.argv[2] ?? (existsSync(corpusPdfs) ? corpusPdfs : await writeSampleSet());
const files = readdirSync(dir).map((name) => join(dir, name)).filter((path) => statSync(path).isFile() && !path.endsWith('.jsonl'));
const context = { options: {}, detection: { modality: 'pdf', mime: 'application/pdf', format: 'pdf', warnings: [] } };
let bytesRead = 0;

async function probeOne(path) {
  const source = new FileSource(path, path, { blocking: true }); // read as the CLI reads files
  try {
    await probePdf(source, context);
  } catch {
    // Errors (encrypted, corrupt) are answers too; they count like any other file.
  } finally {
    bytesRead += source.bytesRead;
    await source.close();
  }
}

/** Best of ROUNDS over all files with `concurrency` in flight; `run` does one file. */
async function best(concurrency, run) {
  let fastest = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < files.length) await run(files[next++]);
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

function pdfinfo(path) {
  return new Promise((resolve) => spawn('pdfinfo', [path], { stdio: 'ignore' }).on('close', resolve).on('error', resolve));
}

async function writeSampleSet() {
  const { PDFDocument } = await import('pdf-lib');
  const out = mkdtempSync(join(tmpdir(), 'bench-pdf-set-'));
  for (let i = 0; i < 100; i++) {
    const doc = await PDFDocument.create();
    for (let page = 0; page <= i % 40; page++) doc.addPage().drawText(`page ${page + 1}`, { x: 50, y: 700 });
    writeFileSync(join(out, `sample${i}.pdf`), await doc.save({ useObjectStreams: i % 2 === 0 }));
  }
  return out;
}

const rate = (ms) => (files.length / ms) * 1000;
const totalBytes = files.reduce((sum, path) => sum + statSync(path).size, 0);

await probeOne(files[0]); // loads the modules (pdf.js, pdf-lib load lazily, on damaged files)
bytesRead = 0;
const oursSequential = await best(1, probeOne);
const readPerRound = bytesRead / ROUNDS;
const oursConcurrent = await best(CONCURRENCY, probeOne);

console.log(`${files.length} PDFs (${(totalBytes / 1e6).toFixed(1)} MB) from ${dir}`);
console.log(`ours     sequential ${oursSequential.toFixed(0)} ms (${rate(oursSequential).toFixed(0)} files/s), ${CONCURRENCY} at a time ${oursConcurrent.toFixed(0)} ms (${rate(oursConcurrent).toFixed(0)} files/s); read ${((100 * readPerRound) / totalBytes).toFixed(0)}% of the bytes`);
if (spawnSync('pdfinfo', ['-v']).error) {
  console.log('pdfinfo  not installed: reference skipped');
} else {
  const refSequential = await best(1, pdfinfo);
  const refConcurrent = await best(CONCURRENCY, pdfinfo);
  console.log(`pdfinfo  sequential ${refSequential.toFixed(0)} ms (${rate(refSequential).toFixed(0)} files/s), ${CONCURRENCY} at a time ${refConcurrent.toFixed(0)} ms (${rate(refConcurrent).toFixed(0)} files/s)`);
  console.log(`ratio    ${(refSequential / oursSequential).toFixed(1)}x pdfinfo sequential, ${(refConcurrent / oursConcurrent).toFixed(1)}x with ${CONCURRENCY} at a time`);
}
