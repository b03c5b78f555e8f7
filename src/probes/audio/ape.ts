import { ProbeError } from '../../errors.js';
import { startsWith, u16le, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * Monkey's Audio, as ffmpeg's ape demuxer and decoder play it: every frame decodes to its
 * declared block count, so the length is the header's (totalframes - 1) x blocksperframe +
 * finalframeblocks, provided the frames are in the file. From 3.98 on, the descriptor says
 * where the audio data ends, so a file that holds it all is whole. Older headers do not say
 * that: the last frame, which the demuxer reads to the end of the file, is whole only when it
 * decodes from its header alone (a frame of pure silence); other old files go to the decoder.
 * The header checks are ffmpeg's: what it refuses to open or decode is damage here.
 */

const MIME = 'audio/x-monkeys-audio';
const MIN_VERSION = 3800;
const MAX_VERSION = 3990;
/** Versions from which the descriptor gives the audio data's length. */
const DESCRIPTOR_VERSION = 3980;
/** ffmpeg allocates one 32-byte APEFrame per frame and refuses counts past UINT_MAX / 32. */
const MAX_FRAMES = Math.floor(0xffffffff / 32);
const HEADER_BYTES = 96;

interface ApeHeader {
  version: number;
  compression: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blocksPerFrame: number;
  finalFrameBlocks: number;
  totalFrames: number;
  /** Where the seek table starts and how many bytes it has. */
  seekTable: { offset: number; bytes: number };
  /** Offset of the first frame. */
  firstFrame: number;
  /** Where the audio data ends, by the descriptor (3.98 and later). */
  audioEnd?: number;
  /** Bytes of WAV trailer the demuxer leaves out of the last frame (older versions). */
  wavTail: number;
}

export async function readApe(input: AudioInput): Promise<AudioFacts> {
  const { end: junk } = await skipLeadingId3v2(input.source, input.head);
  const header = parseHeader(await input.source.read(junk, HEADER_BYTES), junk);
  checkDecodable(header);
  const frames = await framePositions(input, header, junk);
  if (header.audioEnd !== undefined) await checkFramesInData(input, frames, header.audioEnd);
  else await checkLastFrameWhole(input, header, frames);
  const samples = (header.totalFrames - 1) * header.blocksPerFrame + header.finalFrameBlocks;
  return {
    mime: MIME,
    codec: 'ape',
    sampleRate: header.sampleRate,
    channels: header.channels,
    bitDepth: header.bitsPerSample,
    duration: samples / header.sampleRate,
  };
}

/** ape.c ape_read_header: the signature and version, then the header of that version. */
function parseHeader(b: Uint8Array, junk: number): ApeHeader {
  if (!startsWith(b, 'MAC ')) throw new ProbeError('corrupt_file', 'no APE signature');
  if (b.byteLength < 6) throw new ProbeError('truncated', 'APE header cut short');
  const version = u16le(b, 4);
  if (version < MIN_VERSION || version > MAX_VERSION) throw new ProbeError('corrupt_file', `unsupported APE file version ${version}`);
  return version >= DESCRIPTOR_VERSION ? parseDescriptorHeader(b, version, junk) : parseOldHeader(b, version, junk);
}

/** 3.98 and later: a descriptor, then the header. */
function parseDescriptorHeader(b: Uint8Array, version: number, junk: number): ApeHeader {
  if (b.byteLength < 52) throw new ProbeError('truncated', 'APE descriptor cut short');
  const descriptor = u32le(b, 8);
  const headerLength = u32le(b, 12);
  const seekBytes = u32le(b, 16);
  const wavHeader = u32le(b, 20);
  // ffmpeg reads the seek table right after the 24 header bytes it knows, wherever the lengths say.
  if (descriptor < 52 || headerLength !== 24 || descriptor + 24 > b.byteLength) {
    throw new DecoderNeeded(MIME, `APE descriptor of ${descriptor} bytes and header of ${headerLength}`);
  }
  const firstFrame = junk + descriptor + headerLength + seekBytes + wavHeader;
  return {
    version,
    compression: u16le(b, descriptor),
    blocksPerFrame: u32le(b, descriptor + 4),
    finalFrameBlocks: u32le(b, descriptor + 8),
    totalFrames: u32le(b, descriptor + 12),
    bitsPerSample: u16le(b, descriptor + 16),
    channels: u16le(b, descriptor + 18),
    sampleRate: u32le(b, descriptor + 20),
    seekTable: { offset: junk + descriptor + headerLength, bytes: seekBytes },
    firstFrame,
    audioEnd: firstFrame + u32le(b, 24) + u32le(b, 28) * 2 ** 32,
    wavTail: u32le(b, 32),
  };
}

const FLAG_8_BIT = 1;
const FLAG_PEAK_LEVEL = 4;
const FLAG_24_BIT = 8;
const FLAG_SEEK_ELEMENTS = 16;
const FLAG_CREATE_WAV_HEADER = 32;

/**
 * Before 3.98: a 32-byte header, the optional peak level and seek element count, the stored WAV
 * header (skipped before the seek table unless the decoder is to create one; the first frame
 * follows both either way), the frame length fixed by version and compression level.
 */
function parseOldHeader(b: Uint8Array, version: number, junk: number): ApeHeader {
  if (b.byteLength < 40) throw new ProbeError('truncated', 'APE header cut short');
  const compression = u16le(b, 6);
  const flags = u16le(b, 8);
  const wavHeader = u32le(b, 16);
  const totalFrames = u32le(b, 24);
  let headerLength = 32;
  if (flags & FLAG_PEAK_LEVEL) headerLength += 4;
  let seekBytes = totalFrames * 4;
  if (flags & FLAG_SEEK_ELEMENTS) {
    seekBytes = u32le(b, headerLength) * 4;
    headerLength += 4;
  }
  seekBytes %= 2 ** 32; // a uint32_t in ffmpeg
  const blocksPerFrame = version >= 3950 ? 73728 * 4 : version >= 3900 || compression >= 4000 ? 73728 : 9216;
  const seekTable = junk + headerLength + (flags & FLAG_CREATE_WAV_HEADER ? 0 : wavHeader);
  return {
    version,
    compression,
    blocksPerFrame,
    finalFrameBlocks: u32le(b, 28),
    totalFrames,
    bitsPerSample: flags & FLAG_8_BIT ? 8 : flags & FLAG_24_BIT ? 24 : 16,
    channels: u16le(b, 10),
    sampleRate: u32le(b, 12),
    seekTable: { offset: seekTable, bytes: seekBytes },
    firstFrame: junk + headerLength + seekBytes + wavHeader + (version < 3810 ? totalFrames : 0),
    wavTail: u32le(b, 20),
  };
}

/** What ffmpeg's demuxer and decoder refuse (ape.c, apedec.c ape_decode_init). */
function checkDecodable(h: ApeHeader): void {
  const refuse = (why: string): never => {
    throw new ProbeError('corrupt_file', `APE file ffmpeg cannot decode: ${why}`);
  };
  if (h.totalFrames === 0) refuse('no frames');
  if (h.totalFrames > MAX_FRAMES) refuse(`${h.totalFrames} frames`);
  if (Math.floor(h.seekTable.bytes / 4) < h.totalFrames) refuse(`${Math.floor(h.seekTable.bytes / 4)} seek entries for ${h.totalFrames} frames`);
  if (h.channels < 1 || h.channels > 2) refuse(`${h.channels} channels`);
  if (![8, 16, 24].includes(h.bitsPerSample)) refuse(`${h.bitsPerSample} bits per sample`);
  if (h.sampleRate === 0) refuse('a sample rate of 0');
  if (h.compression % 1000 !== 0 || h.compression === 0 || h.compression > 5000 || (h.version < 3930 && h.compression === 5000)) {
    refuse(`compression level ${h.compression}`);
  }
  if (h.finalFrameBlocks === 0 || h.finalFrameBlocks > h.blocksPerFrame) {
    throw new DecoderNeeded(MIME, `APE final frame of ${h.finalFrameBlocks} blocks`);
  }
}

/**
 * Where the demuxer reads each frame: the first after the headers, the others at their seek
 * table entries. Entries that do not increase make a packet of no bytes, which ends the
 * demuxer's stream early: the decoder's business.
 */
async function framePositions(input: AudioInput, h: ApeHeader, junk: number): Promise<number[]> {
  const positions = [h.firstFrame];
  if (h.totalFrames > 1) {
    const table = await input.source.read(h.seekTable.offset, h.totalFrames * 4);
    if (table.byteLength < h.totalFrames * 4) throw new ProbeError('truncated', `APE seek table of ${h.totalFrames} entries is cut by the end of the file`);
    for (let i = 1; i < h.totalFrames; i++) positions.push(u32le(table, i * 4) + junk);
  }
  if (positions.some((position, i) => i > 0 && position <= positions[i - 1]!)) throw new DecoderNeeded(MIME, 'APE seek table entries that do not increase');
  for (let i = 0; i + 1 < positions.length; i++) {
    const skip = (positions[i]! - positions[0]!) % 4;
    // ape_read_header: a frame runs to the next, from the word boundary before it, in whole words.
    if (frameRoom(h, wholeWords(positions[i + 1]! - positions[i]! + skip), skip) < FRAME_HEADER_BYTES) {
      throw new DecoderNeeded(MIME, `APE frame ${i} too short for its header`);
    }
  }
  return positions;
}

const wholeWords = (bytes: number) => bytes + ((4 - (bytes % 4)) % 4);

/** The CRC and frame flags words, and the two bytes init_entropy_decoder wants after them. */
const FRAME_HEADER_BYTES = 4 + 6;

/**
 * Bytes the decoder finds after a frame's start, for `length` bytes read from the word boundary
 * `skip` bytes before it: the packet (8 header bytes, then the frame) rounded down to whole
 * words, two bytes more before 3.95 (ape_decode_frame), less the header and the skip.
 */
function frameRoom(h: ApeHeader, length: number, skip: number): number {
  const packet = length + 8;
  return packet - (packet % 4) + (h.version < 3950 ? 2 : 0) - 8 - skip;
}

/**
 * The file must hold the audio data the descriptor declares, and every frame must start inside
 * it, else the descriptor and the seek table disagree.
 */
async function checkFramesInData(input: AudioInput, frames: number[], audioEnd: number): Promise<void> {
  const size = await input.size();
  if (audioEnd > size) throw new ProbeError('truncated', `APE descriptor declares audio data up to byte ${audioEnd}, the file holds ${size}`);
  const last = frames.at(-1)!;
  // ffmpeg reads frames by the seek table alone: whether this one decodes is the decoder's business.
  if (last >= audioEnd) throw new DecoderNeeded(MIME, `APE frame at byte ${last} starts past the audio data, which ends at byte ${audioEnd}`);
}

/** Bytes the decoder needs after the frame's CRC word (and after its flags word, if present). */
const ENTROPY_HEADER_ROOM = 6;
const CRC_HAS_FLAGS = 0x80000000;
const FRAME_STEREO_SILENCE = 3;
const FRAME_PSEUDO_STEREO = 4;

/**
 * Before 3.98 the demuxer cuts the last frame at the end of the file (less the WAV trailer),
 * so a file cut inside it plays short by what only decoding finds. A last frame the decoder
 * fills from its header alone is whole: silence flagged in the frame flags, with the header
 * words the decoder checks for present (apedec.c ape_decode_frame, init_entropy_decoder).
 */
async function checkLastFrameWhole(input: AudioInput, h: ApeHeader, frames: number[]): Promise<void> {
  const size = await input.size();
  const start = frames.at(-1)!;
  if (start >= size) throw new ProbeError('truncated', `APE frame at byte ${start} starts past the end of the file (${size} bytes)`);
  if (h.version < 3900) throw new DecoderNeeded(MIME, `APE file version ${h.version}: its last frame is whole only if the decoder says so`);
  // ape_read_header: the final frame runs to the end of the file less the WAV trailer, in whole
  // words, from the word boundary (counted from the first frame) at or before it.
  const skip = (start - frames[0]!) % 4;
  let length = size - start - h.wavTail;
  length -= length % 4;
  if (length <= 0) length = h.finalFrameBlocks * 8;
  length = wholeWords(length + skip);
  let room = frameRoom(h, Math.min(length, size - (start - skip)), skip);
  const word = await swappedWords(input, start - skip);
  if (room < ENTROPY_HEADER_ROOM) throw new DecoderNeeded(MIME, 'APE last frame too short for its header');
  const crc = word(skip);
  room -= 4;
  if (crc >= CRC_HAS_FLAGS && room < ENTROPY_HEADER_ROOM) throw new DecoderNeeded(MIME, 'APE last frame too short for its flags');
  const flags = crc >= CRC_HAS_FLAGS ? word(skip + 4) : 0;
  const monoPath = h.channels === 1 || (flags & FRAME_PSEUDO_STEREO) !== 0;
  const silent = monoPath ? (flags & FRAME_STEREO_SILENCE) !== 0 : (flags & FRAME_STEREO_SILENCE) === FRAME_STEREO_SILENCE;
  if (!silent) throw new DecoderNeeded(MIME, `APE file version ${h.version}: its last frame is whole only if the decoder says so`);
}

/** The decoder's view of frame bytes from `offset`: 32-bit words byte-swapped, read big-endian at any byte. */
async function swappedWords(input: AudioInput, offset: number): Promise<(at: number) => number> {
  const bytes = await input.source.read(offset, 16);
  const swapped = (i: number) => bytes[(i & ~3) + 3 - (i & 3)] ?? 0;
  return (at) => swapped(at) * 2 ** 24 + ((swapped(at + 1) << 16) | (swapped(at + 2) << 8) | swapped(at + 3));
}
