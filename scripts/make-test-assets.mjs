#!/usr/bin/env node
// Writes the small sample set in test-assets/ that `npm start` (the README's main job) turns
// into an Encord upload spec. Every file is made here, from libraries and the packaged ffmpeg,
// so the set is reproducible and carries no third-party content. Run: node scripts/make-test-assets.mjs
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { ctSlice, dicomFile, pixelData } from './fixtures-dicom.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-assets', 'sample');
const require = createRequire(import.meta.url);

function out(relative, bytes) {
  const path = join(root, relative);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

function ffmpeg(args) {
  const { path } = require('@ffmpeg-installer/ffmpeg');
  chmodSync(path, 0o755);
  execFileSync(path, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** 16-bit mono PCM WAV of a 440 Hz tone. */
function wav(sampleRate, seconds) {
  const samples = Math.round(sampleRate * seconds);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.byteLength, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.byteLength, 40);
  return Buffer.concat([header, data]);
}

/** A NIfTI-1 single-file volume of 8-bit voxels. */
function nifti1(dims) {
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  header.writeInt16LE(dims.length, 40);
  dims.forEach((size, i) => header.writeInt16LE(size, 42 + 2 * i));
  header.writeInt16LE(2, 70); // datatype: unsigned char
  header.writeInt16LE(8, 72); // bitpix
  for (let i = 0; i <= dims.length; i++) header.writeFloatLE(1, 76 + 4 * i); // pixdim
  header.writeFloatLE(352, 108); // vox_offset
  header.write('n+1\0', 344, 'latin1');
  return Buffer.concat([header, Buffer.alloc(dims.reduce((a, b) => a * b, 1), 7)]);
}

const gradient = (width, height) =>
  sharp({ create: { width, height, channels: 3, background: { r: 40, g: 120, b: 200 } } });

out('images/landscape.png', await gradient(64, 48).png().toBuffer());
// Stored 64x48, EXIF orientation 6: browsers show it 48 wide and 64 high.
out('images/rotated.jpg', await gradient(64, 48).jpeg({ quality: 70 }).withMetadata({ orientation: 6 }).toBuffer());
out('images/photo.webp', await gradient(40, 30).webp().toBuffer());

const pdf = await PDFDocument.create();
for (let i = 0; i < 3; i++) pdf.addPage([200, 200]);
out('documents/three-pages.pdf', await pdf.save());

out('text/notes.txt', 'Encord media sample notes.\nLine two.\n');
out('text/labels.json', `${JSON.stringify({ classes: ['cat', 'dog'] }, null, 2)}\n`);
out('text/table.csv', 'name,value\nalpha,1\nbeta,2\n');

out('audio/tone.wav', wav(8000, 0.5));
const video = join(root, 'video', 'clip.mp4');
mkdirSync(dirname(video), { recursive: true });
ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25:duration=1', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'veryfast', '-movflags', '+faststart', video]);

// One CT series of three slices, split over two folders: the spec groups it by SeriesInstanceUID.
for (const instance of [1, 2, 3]) {
  const folder = instance < 3 ? 'dicom/part-a' : 'dicom/part-b';
  out(`${folder}/slice-${instance}.dcm`, dicomFile([...ctSlice({ instance, z: instance * 2.5 }), pixelData(new Uint8Array(32))]));
}

out('volumes/brain.nii', nifti1([4, 4, 2]));

out('broken/truncated.png', (await gradient(32, 32).png().toBuffer()).subarray(0, 60));
console.log(`wrote ${root}`);
