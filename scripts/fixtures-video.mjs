#!/usr/bin/env node
// Generates the video test fixtures with the @ffmpeg-installer ffmpeg (a 2018 static build).
//
//   node scripts/fixtures-video.mjs OUTDIR
//
// Tests import makeVideoFixtures() and write into a temporary directory. Every fixture is small
// (under a second, 160x120 or 320x240) and described by FIXTURES: the parameters it was made with
// are the values the probe must report.
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function ffmpegPath() {
  const require = createRequire(import.meta.url);
  const { path } = require('@ffmpeg-installer/ffmpeg');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    chmodSync(path, 0o755);
  }
  return path;
}

const VIDEO = (size, rate) => ['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${rate}`];
const TONE = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100'];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** name -> ffmpeg arguments (inputs and options, without the output). */
export const FIXTURES = {
  'cfr.mp4': [...VIDEO('320x240', 25), '-t', '2', ...X264],
  'cfr-faststart.mp4': [...VIDEO('320x240', 25), '-t', '2', ...X264, '-movflags', '+faststart'],
  'ntsc.mp4': [...VIDEO('320x240', '30000/1001'), '-t', '1', ...X264],
  'vfr.mp4': [...VIDEO('320x240', 25), '-t', '3', ...X264, '-vf', 'select=not(mod(n\\,3))+eq(n\\,7)', '-vsync', 'vfr'],
  'anamorphic.mp4': [...VIDEO('320x240', 25), '-t', '1', ...X264, '-vf', 'setsar=4/3'],
  'movie.mov': [...VIDEO('320x240', 25), '-t', '1', ...X264],
  'with-audio.mp4': [...TONE, ...VIDEO('320x240', 25), '-t', '2', '-map', '0:a', '-map', '1:v', ...X264, '-c:a', 'aac', '-shortest'],
  'fragmented.mp4': [...VIDEO('320x240', 25), '-t', '2', ...X264, '-movflags', 'frag_keyframe+empty_moov', '-g', '10'],
  'vp9.webm': [...VIDEO('320x240', 25), '-t', '1', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8'],
  'h264.mkv': [...VIDEO('320x240', 25), '-t', '1', ...X264],
  'mpeg4.avi': [...VIDEO('320x240', 25), '-t', '1', '-c:v', 'mpeg4'],
  'mpeg2.wtv': [...VIDEO('320x240', 25), '-t', '1', '-c:v', 'mpeg2video'],
  'tone.mp4': [...TONE, '-t', '1', '-c:a', 'aac'],
  'large.mp4': [...VIDEO('640x480', 25), '-t', '8', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0'],
};

export async function makeFixture(outDir, name) {
  const path = join(outDir, name);
  await run(ffmpegPath(), ['-v', 'error', '-y', '-nostdin', ...FIXTURES[name], path], { maxBuffer: 1 << 20 });
  return path;
}

/** QuickTime display matrix of a quarter turn (what phones write for portrait video): ffprobe reports -90. */
const QUARTER_TURN = [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000];
const TKHD_MATRIX_OFFSET = 48;

/** A copy of an MP4 with the first track header's matrix set to a quarter turn (this ffmpeg build ignores rotate=). */
function rotated(bytes) {
  const copy = Buffer.from(bytes);
  const tkhd = copy.indexOf('tkhd') - 4;
  if (tkhd < 0 || copy[tkhd + 8] !== 0) throw new Error('no version-0 tkhd');
  QUARTER_TURN.forEach((value, i) => copy.writeInt32BE(value, tkhd + TKHD_MATRIX_OFFSET + 4 * i));
  return copy;
}

/** Writes every fixture, plus a rotated and a truncated copy of cfr-faststart.mp4, into outDir; returns name -> path. */
export async function makeVideoFixtures(outDir) {
  mkdirSync(outDir, { recursive: true });
  const paths = {};
  for (const name of Object.keys(FIXTURES)) paths[name] = await makeFixture(outDir, name);
  const whole = readFileSync(paths['cfr-faststart.mp4']);
  paths['rotated.mp4'] = join(outDir, 'rotated.mp4');
  writeFileSync(paths['rotated.mp4'], rotated(whole));
  paths['truncated.mp4'] = join(outDir, 'truncated.mp4');
  writeFileSync(paths['truncated.mp4'], whole.subarray(0, Math.floor(whole.byteLength / 2)));
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node scripts/fixtures-video.mjs OUTDIR');
    process.exit(2);
  }
  const paths = await makeVideoFixtures(outDir);
  console.log(Object.values(paths).join('\n'));
}
