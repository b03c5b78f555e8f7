#!/usr/bin/env node
// Video probe benchmark (run `npm run build` first):
//
//   node bench/video.mjs [DIR]
//
// 1. Speed over the video files of DIR (default: the shared corpus video folder, else generated
//    fixtures): our probe (probe(), as the CLI calls it, one process) against ffprobe run per file and
//    against one `mediainfo --Output=JSON` over all files, in the same run. Ratios are printed.
// 2. Memory: our probe's peak RSS on 4 GiB sparse MP4s (moov before and after a 4 GiB mdat),
//    each in a fresh process.
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probe } from '../dist/probes/index.js';
import { DEFAULT_CONCURRENCY } from '../dist/util/pool.js';
import { filesStartingFfprobe } from './ffprobe-runs.mjs';

const run = promisify(execFile);
const here = fileURLToPath(import.meta.url);
const CORPUS = '/work/shared/corpus/video';

if (process.argv[2] === '--peak-rss') {
  await probeOnce(process.argv[3]);
  console.log(JSON.stringify({ maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

/** Probes one file as the CLI does (detection, the modality's probe, blocking local reads). */
async function probeOnce(path) {
  try {
    return await probe(path, { blocking: true });
  } catch (error) {
    return { error: error.code };
  }
}

function tool(name) {
  try {
    execFileSync(name, ['-version'], { stdio: 'ignore' });
    return name;
  } catch {
    try {
      execFileSync(name, ['--version'], { stdio: 'ignore' });
      return name;
    } catch {
      return undefined;
    }
  }
}

async function videoFiles() {
  const dir = process.argv[2] ?? (existsSync(CORPUS) ? CORPUS : undefined);
  if (dir) return readdirSync(dir).filter((name) => !name.endsWith('.jsonl')).map((name) => join(dir, name)).filter((path) => statSync(path).isFile());
  const { makeVideoFixtures } = await import('../scripts/fixtures-video.mjs');
  console.log('corpus not found: benchmarking generated fixtures');
  return Object.values(await makeVideoFixtures(mkdtempSync(join(tmpdir(), 'video-bench-'))));
}

async function timeIt(work) {
  const started = performance.now();
  const result = await work();
  return { ms: performance.now() - started, result };
}

const ms = (value) => `${value.toFixed(0).padStart(7)} ms`;

/** Probes every file once, sequentially; returns per-file time and whether it started no ffprobe. */
async function ourPass(files, viaFfprobe) {
  const perFile = [];
  for (const path of files) {
    const { ms: took } = await timeIt(() => probeOnce(path));
    perFile.push({ path, ms: took, inProcess: !viaFfprobe.includes(path) });
  }
  return perFile;
}

/** Probes every file with `limit` probes in flight, as the CLI does. */
async function concurrentPass(files, limit) {
  const queue = [...files];
  const { ms: took } = await timeIt(() => Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length) await probeOnce(queue.shift());
  })));
  return took;
}

async function ffprobePass(ffprobe, files) {
  const perFile = new Map();
  for (const path of files) {
    const { ms: took } = await timeIt(() => run(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', `file:${path}`], { maxBuffer: 64 << 20 }).catch(() => undefined));
    perFile.set(path, took);
  }
  return perFile;
}

const mediainfoPass = async (mediainfo, files) => (await timeIt(() => run(mediainfo, ['--Output=JSON', ...files], { maxBuffer: 256 << 20 }).catch(() => undefined))).ms;

async function speed(files) {
  for (const path of files) readFileSync(path); // warm the page cache for every tool alike
  const viaFfprobe = filesStartingFfprobe(files);
  await ourPass(files, viaFfprobe); // warm up: JIT, module loading, page cache
  const perFile = await ourPass(files, viaFfprobe);
  const total = perFile.reduce((sum, file) => sum + file.ms, 0);
  const inProcess = perFile.filter((file) => file.inProcess);
  const inProcessMs = inProcess.reduce((sum, file) => sum + file.ms, 0);
  const concurrent = await concurrentPass(files, DEFAULT_CONCURRENCY);
  console.log(`files: ${files.length}, answered in-process: ${inProcess.length}, through ffprobe: ${files.length - inProcess.length}`);
  console.log(`ours      ${ms(total)}  ${(total / files.length).toFixed(2)} ms/file sequential; ${ms(concurrent)} with ${DEFAULT_CONCURRENCY} in flight (the CLI's default)`);
  console.log(`  in-process files only: ${ms(inProcessMs)}  ${(inProcessMs / Math.max(1, inProcess.length)).toFixed(2)} ms/file`);
  const ffprobe = tool('ffprobe');
  if (ffprobe) {
    const times = await ffprobePass(ffprobe, files);
    const theirs = [...times.values()].reduce((sum, value) => sum + value, 0);
    const theirsSubset = inProcess.reduce((sum, file) => sum + times.get(file.path), 0);
    console.log(`ffprobe   ${ms(theirs)}  ${(theirs / files.length).toFixed(2)} ms/file (one process per file): ours ${(theirs / total).toFixed(1)}x faster sequential, ${(theirs / concurrent).toFixed(1)}x with ${DEFAULT_CONCURRENCY} in flight`);
    console.log(`  in-process files only: ffprobe ${ms(theirsSubset)}: ours ${(theirsSubset / inProcessMs).toFixed(0)}x faster`);
  } else console.log('ffprobe not found: skipped');
  const mediainfo = tool('mediainfo');
  if (mediainfo) {
    const theirs = await mediainfoPass(mediainfo, files);
    const theirsSubset = await mediainfoPass(mediainfo, inProcess.map((file) => file.path));
    console.log(`mediainfo ${ms(theirs)}  ${(theirs / files.length).toFixed(2)} ms/file (one process, all files): ours takes ${(total / theirs).toFixed(1)}x as long sequential, ${(concurrent / theirs).toFixed(1)}x with ${DEFAULT_CONCURRENCY} in flight`);
    console.log(`  in-process files only: mediainfo ${ms(theirsSubset)}: ours ${(theirsSubset / inProcessMs).toFixed(1)}x faster`);
  } else console.log('mediainfo not found: skipped');
}

/** MP4 boxes at top level: [type, start, size]. */
function topBoxes(bytes) {
  const boxes = [];
  for (let offset = 0; offset + 8 <= bytes.byteLength; ) {
    const size = bytes.readUInt32BE(offset);
    boxes.push([bytes.toString('latin1', offset + 4, offset + 8), offset, size]);
    offset += size;
  }
  return boxes;
}

/** A copy of the moov with every stco entry shifted by `delta`. */
function shiftChunkOffsets(moov, delta) {
  const copy = Buffer.from(moov);
  for (let at = copy.indexOf('stco'); at >= 0; at = copy.indexOf('stco', at + 4)) {
    const count = copy.readUInt32BE(at + 8);
    for (let i = 0; i < count; i++) copy.writeUInt32BE(copy.readUInt32BE(at + 12 + 4 * i) + delta, at + 12 + 4 * i);
  }
  return copy;
}

const MDAT_BYTES = 4 * 1024 ** 3;

/**
 * A real small MP4 whose mdat is grown to 4 GiB with a sparse hole (64-bit box size), the moov
 * before or after it, chunk offsets patched: the tables still describe the real samples.
 */
function sparseMp4(small, moovLast, path) {
  const boxes = topBoxes(small);
  const box = (type) => { const [, start, size] = boxes.find(([t]) => t === type); return small.subarray(start, start + size); };
  const ftyp = box('ftyp');
  const mdat = box('mdat');
  const payload = mdat.subarray(8);
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0);
  header.write('mdat', 4, 'latin1');
  header.writeBigUInt64BE(BigInt(MDAT_BYTES), 8);
  const oldPayloadStart = boxes.find(([t]) => t === 'mdat')[1] + 8;
  const moovSize = box('moov').byteLength;
  const newPayloadStart = ftyp.byteLength + (moovLast ? 0 : moovSize) + 16;
  const moov = shiftChunkOffsets(box('moov'), newPayloadStart - oldPayloadStart);
  const fd = openSync(path, 'w');
  let at = 0;
  for (const part of moovLast ? [ftyp, header, payload] : [ftyp, moov, header, payload]) at += writeSync(fd, part, 0, part.byteLength, at);
  const mdatEnd = newPayloadStart - 16 + MDAT_BYTES;
  if (moovLast) writeSync(fd, moov, 0, moov.byteLength, mdatEnd);
  else ftruncateSync(fd, mdatEnd);
  closeSync(fd);
}

async function memory() {
  const { makeFixture } = await import('../scripts/fixtures-video.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'video-sparse-'));
  try {
    const small = readFileSync(await makeFixture(dir, 'cfr-faststart.mp4'));
    for (const moovLast of [false, true]) {
      const path = join(dir, moovLast ? 'sparse-moov-last.mp4' : 'sparse-moov-first.mp4');
      sparseMp4(small, moovLast, path);
      const started = performance.now();
      const { stdout } = await run(process.execPath, [here, '--peak-rss', path]);
      const { maxRssMiB } = JSON.parse(stdout);
      const outcome = await probeOnce(path);
      console.log(
        `sparse ${(statSync(path).size / 1024 ** 3).toFixed(2)} GiB MP4, moov ${moovLast ? 'last ' : 'first'}: peak RSS ${maxRssMiB.toFixed(0)} MiB ` +
          `(${maxRssMiB < 200 ? 'ok, < 200' : 'OVER 200'}), ${(performance.now() - started).toFixed(0)} ms in a fresh process, ` +
          `${JSON.stringify(outcome.metadata ?? outcome)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await speed(await videoFiles());
await memory();
