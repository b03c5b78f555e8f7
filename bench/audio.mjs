#!/usr/bin/env node
// Audio probe benchmark (run `npm run build` first):
//
//   node bench/audio.mjs [DIR]
//
// Speed over the files of DIR (default: the shared corpus audio folder, else generated
// fixtures): our probe (probe() over every file, as the CLI calls it, one process: a first cold
// pass and a warm one, one file at a time, then the CLI's default number at a time) against
// ffprobe run per file and against one `mediainfo --Output=JSON` over all files, in the same run.
// Prints files/s, the ratios, what answered each file, and which files started ffprobe (counted
// outside the timed passes by a wrapper binary; FFPROBE_PATH chooses the real one). Reference
// tools that are missing are skipped (and said so).
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { probe } from '../dist/probes/index.js';
import { resolveFfprobe } from '../dist/probes/ffprobe.js';
import { DEFAULT_CONCURRENCY } from '../dist/util/pool.js';
import { filesStartingFfprobe } from './ffprobe-runs.mjs';

const run = promisify(execFile);
const CORPUS = '/work/shared/corpus/audio';

/**
 * What measured the file: an in-process reader, 'ffprobe', or the error it ended in. Probed as
 * the CLI probes it: detection, the modality's probe, local reads with blocking calls.
 */
async function probeOnce(path) {
  try {
    const { details } = await probe(path, { blocking: true });
    return details?.reader ?? 'none';
  } catch (error) {
    return `error:${error.code}`;
  }
}

const count = (counts, key) => (counts[key] = (counts[key] ?? 0) + 1);

/**
 * Probes every file, `concurrency` at a time; counts what measured each, and keeps the time
 * taken by the files in `inProcess` (those that started no ffprobe).
 */
async function probeAll(files, concurrency, inProcess = new Set()) {
  const readers = {};
  let inProcessMs = 0;
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const path = files[next++];
      const { ms, result: reader } = await timed(() => probeOnce(path));
      count(readers, reader);
      if (inProcess.has(path)) inProcessMs += ms;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { readers, inProcessMs };
}

function tool(name, versionFlag) {
  try {
    execFileSync(name, [versionFlag], { stdio: 'ignore' });
    return name;
  } catch {
    return undefined;
  }
}

async function audioFiles() {
  const dir = process.argv[2] ?? (existsSync(CORPUS) ? CORPUS : undefined);
  if (dir) return readdirSync(dir).map((name) => join(dir, name)).filter((path) => statSync(path).isFile());
  const { generateAudioFixtures } = await import('../scripts/fixtures-audio.mjs');
  console.log('corpus not found: benchmarking generated fixtures');
  return Object.values(generateAudioFixtures(mkdtempSync(join(tmpdir(), 'audio-bench-'))));
}

async function timed(work) {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
}

const rate = (files, ms) => `${((files * 1000) / ms).toFixed(1).padStart(7)} files/s  ${(ms / files).toFixed(2).padStart(6)} ms/file`;

const files = await audioFiles();
for (const path of files) readFileSync(path); // warm the page cache for every tool alike
console.log(`files: ${files.length}`);

const viaFfprobe = filesStartingFfprobe(files);
const inProcess = new Set(files.filter((path) => !viaFfprobe.includes(path)));
const cold = await timed(() => probeAll(files, 1, inProcess));
const ours = await timed(() => probeAll(files, 1, inProcess));
console.log(`ours       ${rate(files.length, ours.ms)}  (one at a time, warm; ${inProcess.size} files in-process, ${viaFfprobe.length} started ${resolveFfprobe()})`);
console.log(`           first pass, cold (module loading, JIT): ${rate(files.length, cold.ms)}`);
console.log(`           ${JSON.stringify(ours.result.readers)}`);
console.log(`           started ffprobe: ${viaFfprobe.map((path) => basename(path)).join(', ') || 'none'}`);
console.log(`  in-process files only: ${rate(inProcess.size, ours.result.inProcessMs)}`);
const pooled = await timed(() => probeAll(files, DEFAULT_CONCURRENCY));
console.log(`ours x${DEFAULT_CONCURRENCY}    ${rate(files.length, pooled.ms)}  (${DEFAULT_CONCURRENCY} files at a time, the CLI's default)`);

const ffprobe = tool('ffprobe', '-version');
if (ffprobe) {
  const theirs = await timed(async () => {
    for (const path of files) {
      await run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', `file:${path}`], { maxBuffer: 64 << 20 }).catch(() => undefined);
    }
  });
  console.log(`ffprobe    ${rate(files.length, theirs.ms)}  (one process per file)  ours is ${(theirs.ms / ours.ms).toFixed(1)}x faster (cold: ${(theirs.ms / cold.ms).toFixed(1)}x; x${DEFAULT_CONCURRENCY}: ${(theirs.ms / pooled.ms).toFixed(1)}x)`);
} else console.log('ffprobe not found: skipped');

const mediainfo = tool('mediainfo', '--Version');
if (mediainfo) {
  const theirs = await timed(() => run(mediainfo, ['--Output=JSON', ...files], { maxBuffer: 256 << 20 }).catch(() => undefined));
  console.log(`mediainfo  ${rate(files.length, theirs.ms)}  (one process, all files)  ours is ${(theirs.ms / ours.ms).toFixed(2)}x as fast (cold: ${(theirs.ms / cold.ms).toFixed(2)}x; x${DEFAULT_CONCURRENCY}: ${(theirs.ms / pooled.ms).toFixed(2)}x)`);
  const subset = await timed(() => run(mediainfo, ['--Output=JSON', ...inProcess], { maxBuffer: 256 << 20 }).catch(() => undefined));
  console.log(`  in-process files only: mediainfo ${rate(inProcess.size, subset.ms)}: ours ${(subset.ms / ours.result.inProcessMs).toFixed(1)}x as fast`);
} else console.log('mediainfo not found: skipped');
