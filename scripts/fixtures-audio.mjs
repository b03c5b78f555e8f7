#!/usr/bin/env node
// Generates the audio test fixtures with the @ffmpeg-installer ffmpeg (a pinned 2018 static
// build, so the encoders' output is the same on every machine), plus a few hand-built files.
//
//   node scripts/fixtures-audio.mjs [DIR]      (default: a new temporary directory)
//
// Each fixture is a short tone of an exact number of samples (atrim end_sample), so the
// expected duration of a lossless or gapless encoding is that count over the rate.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function ffmpegPath() {
  const { path } = require('@ffmpeg-installer/ffmpeg');
  if (!(statSync(path).mode & 0o100)) chmodSync(path, 0o755);
  return path;
}

/** name -> [output file, sample rate, sample count, channels, ffmpeg output options] */
const ENCODED = {
  'pcm-u8': ['pcm-u8.wav', 22050, 22050, 1, ['-c:a', 'pcm_u8']],
  'pcm-s16': ['pcm-s16.wav', 44100, 22050, 2, ['-c:a', 'pcm_s16le']],
  'pcm-s24': ['pcm-s24.wav', 48000, 24000, 2, ['-c:a', 'pcm_s24le']],
  'pcm-s32': ['pcm-s32.wav', 48000, 12000, 2, ['-c:a', 'pcm_s32le']],
  'pcm-f32': ['pcm-f32.wav', 44100, 4410, 1, ['-c:a', 'pcm_f32le']],
  'pcm-f64': ['pcm-f64.wav', 44100, 4410, 2, ['-c:a', 'pcm_f64le']],
  'pcm-6ch': ['pcm-6ch.wav', 48000, 9600, 6, ['-c:a', 'pcm_s16le']],
  'w64': ['pcm.w64', 44100, 4410, 2, ['-c:a', 'pcm_s16le']],
  'aiff-s16': ['pcm-s16.aiff', 44100, 11025, 2, ['-c:a', 'pcm_s16be']],
  'flac-s16': ['s16.flac', 44100, 44100, 2, ['-c:a', 'flac']],
  'flac-s24': ['s24.flac', 96000, 48000, 2, ['-c:a', 'flac', '-sample_fmt', 's32']],
  'flac-48k': ['s16-48k.flac', 48000, 4800, 2, ['-c:a', 'flac']],
  'mp3-cbr': ['cbr.mp3', 44100, 44100, 2, ['-c:a', 'libmp3lame', '-b:a', '128k']],
  'mp3-vbr': ['vbr.mp3', 44100, 66150, 2, ['-c:a', 'libmp3lame', '-q:a', '4']],
  'mp3-vbr-no-xing': ['vbr-no-xing.mp3', 44100, 66150, 2, ['-c:a', 'libmp3lame', '-q:a', '4', '-write_xing', '0']],
  'mp3-mono-22k': ['mono-22k.mp3', 22050, 22050, 1, ['-c:a', 'libmp3lame', '-b:a', '32k']],
  'mp2': ['layer2.mp2', 48000, 48000, 2, ['-c:a', 'mp2', '-b:a', '192k']],
  'opus': ['tone.opus', 48000, 48000, 2, ['-c:a', 'libopus', '-b:a', '64k']],
  'vorbis': ['tone.ogg', 44100, 44100, 2, ['-c:a', 'libvorbis', '-q:a', '3']],
  'aac-m4a': ['aac.m4a', 44100, 44100, 2, ['-c:a', 'aac', '-b:a', '128k']],
  'alac-m4a': ['alac.m4a', 44100, 22050, 2, ['-c:a', 'alac']],
  'aac-adts': ['tone.aac', 48000, 48000, 2, ['-c:a', 'aac', '-b:a', '128k', '-f', 'adts']],
  'wavpack-s16': ['s16.wv', 44100, 30000, 2, ['-c:a', 'wavpack']],
  'wavpack-6ch': ['6ch.wv', 48000, 12000, 6, ['-c:a', 'wavpack']],
  'ac3-51': ['surround.ac3', 48000, 48000, 6, ['-c:a', 'ac3', '-b:a', '384k']],
  'ac3-mono-44k': ['mono.ac3', 44100, 22050, 1, ['-c:a', 'ac3', '-b:a', '96k']],
  'eac3': ['stereo.eac3', 44100, 44100, 2, ['-c:a', 'eac3', '-b:a', '128k']],
  'opus-webm': ['opus.webm', 48000, 48000, 2, ['-c:a', 'libopus', '-b:a', '64k']],
  'opus-mono-mka': ['opus-mono.mka', 48000, 30000, 1, ['-c:a', 'libopus', '-frame_duration', '60']],
  'flac-mka': ['flac.mka', 44100, 22050, 2, ['-c:a', 'flac']],
  'pcm-s24-mka': ['pcm-s24.mka', 48000, 12000, 2, ['-c:a', 'pcm_s24le']],
  'ac3-mka': ['ac3.mka', 48000, 48000, 6, ['-c:a', 'ac3', '-b:a', '384k']],
  'vorbis-webm': ['vorbis.webm', 44100, 44100, 2, ['-c:a', 'libvorbis']],
  'speex-wb': ['wideband.spx', 16000, 16000, 1, ['-c:a', 'libspeex']],
  'ac3-ts': ['ac3.ts', 48000, 48000, 2, ['-c:a', 'ac3', '-f', 'mpegts']],
  'mp2-ts': ['mp2.ts', 48000, 48000, 2, ['-c:a', 'mp2', '-f', 'mpegts']],
  'tta': ['s16.tta', 44100, 60000, 2, ['-c:a', 'tta']],
  'amr-nb': ['speech.amr', 8000, 8000, 1, ['-c:a', 'libopencore_amrnb', '-b:a', '12200']],
  'amr-wb': ['speech-wb.amr', 16000, 16000, 1, ['-c:a', 'libvo_amrwbenc', '-b:a', '23850']],
  'speex-3-per-packet': ['3-per-packet.spx', 8000, 8000, 2, ['-c:a', 'libspeex', '-frames_per_packet', '3']],
};

function encode(ffmpeg, dir, [file, rate, samples, channels, options]) {
  const path = join(dir, file);
  const tone = `sine=frequency=440:sample_rate=${rate},atrim=end_sample=${samples}`;
  execFileSync(ffmpeg, [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', tone,
    '-ac', String(channels), '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:a', '+bitexact',
    ...options, path,
  ]);
  return path;
}

/** A Standard MIDI File: header chunk and one track with a note on/off and end of track. */
function midiFile() {
  const track = Buffer.from([0x00, 0x90, 0x3c, 0x40, 0x60, 0x80, 0x3c, 0x00, 0x00, 0xff, 0x2f, 0x00]);
  const header = Buffer.from([...Buffer.from('MThd'), 0, 0, 0, 6, 0, 0, 0, 1, 0, 96]);
  const trackHeader = Buffer.concat([Buffer.from('MTrk'), Buffer.from([0, 0, 0, track.length])]);
  return Buffer.concat([header, trackHeader, track]);
}

/**
 * The start of a Monkey's Audio 3.99 file: descriptor, header and a two-entry seek table that
 * declare 128 bytes of audio data in two frames, of which the file holds 32 (there is no APE
 * encoder to make a whole one; this is enough for the truncation check).
 */
function truncatedApe() {
  const descriptor = Buffer.alloc(52);
  descriptor.write('MAC ', 0, 'latin1');
  descriptor.writeUInt16LE(3990, 4);
  descriptor.writeUInt32LE(52, 8); // descriptor length
  descriptor.writeUInt32LE(24, 12); // header length
  descriptor.writeUInt32LE(8, 16); // seek table length
  descriptor.writeUInt32LE(128, 24); // audio data length
  const header = Buffer.alloc(24);
  header.writeUInt16LE(2000, 0); // compression level: normal
  header.writeUInt32LE(73728 * 4, 4); // blocks per frame
  header.writeUInt32LE(1000, 8); // final frame blocks
  header.writeUInt32LE(2, 12); // total frames
  header.writeUInt16LE(16, 16);
  header.writeUInt16LE(2, 18);
  header.writeUInt32LE(44100, 20);
  const firstFrame = 52 + 24 + 8;
  const seekTable = Buffer.alloc(8);
  seekTable.writeUInt32LE(firstFrame, 0);
  seekTable.writeUInt32LE(firstFrame + 64, 4);
  return Buffer.concat([descriptor, header, seekTable, Buffer.alloc(32, 0x55)]);
}

/** A Matroska file whose first SimpleBlock names track `track` (one-byte track numbers only). */
function withBlockOfTrack(bytes, track) {
  const copy = Buffer.from(bytes);
  const cluster = copy.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
  const block = copy.indexOf(0xa3, cluster);
  const sizeLength = Math.clz32(copy[block + 1]) - 23;
  copy[block + 1 + sizeLength] = 0x80 | track;
  return copy;
}

/**
 * A DSDIFF (.dff) file: FVER, PROP (FS, CHNL, CMPR 'DSD ') and a DSD chunk of `bytes` bytes
 * of DSD silence, whose size field says `declared` (default: the bytes there are).
 */
function dsdiff(rate, channels, bytes, declared = bytes) {
  const chunk = (id, body) => {
    const header = Buffer.alloc(12);
    header.write(id, 0, 'latin1');
    header.writeBigUInt64BE(BigInt(body.length), 4);
    return Buffer.concat([header, body, Buffer.alloc(body.length & 1)]);
  };
  const u32 = (n) => Buffer.from([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
  const channelIds = Buffer.concat([Buffer.from([0, channels]), ...['SLFT', 'SRGT', 'C   ', 'LFE ', 'LS  ', 'RS  '].slice(0, channels).map((id) => Buffer.from(id))]);
  const compression = Buffer.concat([Buffer.from('DSD '), Buffer.from([14]), Buffer.from('not compressed'), Buffer.alloc(1)]);
  const prop = Buffer.concat([Buffer.from('SND '), chunk('FS  ', u32(rate)), chunk('CHNL', channelIds), chunk('CMPR', compression)]);
  const sound = chunk('DSD ', Buffer.alloc(bytes, 0x69));
  sound.writeBigUInt64BE(BigInt(declared), 4);
  const body = Buffer.concat([Buffer.from('DSD '), chunk('FVER', u32(0x01050000)), chunk('PROP', prop), sound]);
  const form = Buffer.alloc(12);
  form.write('FRM8', 0, 'latin1');
  form.writeBigUInt64BE(BigInt(body.length - bytes + declared), 4);
  return Buffer.concat([form, body]);
}

/** An ID3v2.3 tag with one title frame and nothing after it. */
/** The frames of a FLAC file: the bytes after its metadata blocks. */
function flacFrames(bytes) {
  let offset = 4;
  for (let last = false; !last; offset += 4 + bytes.readUIntBE(offset + 1, 3)) last = (bytes[offset] & 0x80) !== 0;
  return bytes.subarray(offset);
}

function id3Only() {
  const text = Buffer.from('\0A title', 'latin1');
  const frame = Buffer.concat([Buffer.from('TIT2'), Buffer.from([0, 0, 0, text.length, 0, 0]), text]);
  const size = frame.length;
  return Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, (size >> 7) & 0x7f, size & 0x7f]), frame]);
}

/** Writes every fixture into `dir`; returns name -> path. */
export function generateAudioFixtures(dir = mkdtempSync(join(tmpdir(), 'audio-fixtures-'))) {
  mkdirSync(dir, { recursive: true });
  const ffmpeg = ffmpegPath();
  const paths = {};
  for (const [name, spec] of Object.entries(ENCODED)) paths[name] = encode(ffmpeg, dir, spec);
  const cut = (name, from, keep) => {
    const path = join(dir, `${name}`);
    const bytes = readFileSync(paths[from]);
    writeFileSync(path, bytes.subarray(0, keep(bytes.length)));
    return path;
  };
  paths['wav-truncated'] = cut('truncated.wav', 'pcm-s16', (n) => n - 1000);
  paths['mp3-truncated'] = cut('truncated.mp3', 'mp3-vbr', (n) => Math.floor(n / 2));
  paths['tta-truncated'] = cut('truncated.tta', 'tta', (n) => n - 100);
  paths['ac3-truncated'] = cut('truncated.ac3', 'ac3-51', (n) => n - 100);
  paths['ac3-junk'] = join(dir, 'junk.ac3');
  writeFileSync(paths['ac3-junk'], Buffer.concat([readFileSync(paths['ac3-51']), Buffer.alloc(300, 0x5a)]));
  paths['opus-webm-bad-track'] = join(dir, 'bad-track.webm');
  writeFileSync(paths['opus-webm-bad-track'], withBlockOfTrack(readFileSync(paths['opus-webm']), 9));
  paths['flac-truncated'] = cut('truncated.flac', 'flac-s16', (n) => Math.floor(n / 2));
  // 48 kHz frames appended to a 44.1 kHz stream: ffmpeg's decoder follows each frame's own rate.
  paths['flac-joined-rates'] = join(dir, 'joined-rates.flac');
  writeFileSync(paths['flac-joined-rates'], Buffer.concat([readFileSync(paths['flac-s16']), flacFrames(readFileSync(paths['flac-48k']))]));
  // The same stream twice: the second's frame numbers restart, ffmpeg's decoder plays both.
  paths['flac-joined'] = join(dir, 'joined.flac');
  writeFileSync(paths['flac-joined'], Buffer.concat([readFileSync(paths['flac-s16']), flacFrames(readFileSync(paths['flac-s16']))]));
  paths['ape-truncated'] = join(dir, 'truncated.ape');
  writeFileSync(paths['ape-truncated'], truncatedApe());
  paths['amr-no-data'] = join(dir, 'no-data.amr');
  writeFileSync(paths['amr-no-data'], Buffer.concat([readFileSync(paths['amr-nb']), Buffer.from([0x7c])])); // a NO_DATA frame
  paths['dff'] = join(dir, 'dsd64.dff');
  writeFileSync(paths['dff'], dsdiff(2822400, 2, 2 * 35280)); // 0.1 s
  paths['dff-truncated'] = join(dir, 'truncated.dff');
  writeFileSync(paths['dff-truncated'], dsdiff(2822400, 2, 20000, 2 * 35280));
  paths['midi'] = join(dir, 'song.mid');
  writeFileSync(paths['midi'], midiFile());
  paths['id3-only'] = join(dir, 'tags-only.mp3');
  writeFileSync(paths['id3-only'], id3Only());
  paths['empty'] = join(dir, 'empty.wav');
  writeFileSync(paths['empty'], Buffer.alloc(0));
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const paths = generateAudioFixtures(process.argv[2]);
  for (const [name, path] of Object.entries(paths)) console.log(`${name.padEnd(16)} ${path}`);
}
