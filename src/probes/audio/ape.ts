import { ProbeError } from '../../errors.js';
import { readExactly, startsWith, u16le, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * Monkey's Audio (3.98 and later), as ffmpeg's ape demuxer and decoder play it: every frame
 * decodes to its declared block count, so the length is the header's (totalframes - 1) x
 * blocksperframe + finalframeblocks, provided the file holds the audio data the descriptor
 * declares and every frame starts inside it. The header checks are ffmpeg's: what it refuses
 * to open or decode is damage here. Older files, whose headers do not say where the audio
 * ends, go to the decoder.
 */

const MIME = 'audio/x-monkeys-audio';
const MIN_VERSION = 3800;
const MAX_VERSION = 3990;
/** ffmpeg allocates one 32-byte APEFrame per frame and refuses counts past UINT_MAX / 32. */
const MAX_FRAMES = Math.floor(0xffffffff / 32);

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
  /** Where the audio data ends, by the descriptor. */
  audioEnd: number;
}

export async function readApe(input: AudioInput): Promise<AudioFacts> {
  const { end: junk } = await skipLeadingId3v2(input.source, input.head);
  const header = parseHeader(await readExactly(input.source, junk, 96, 'APE header'), junk);
  checkDecodable(header);
  await checkFramesInFile(input, header, junk);
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

/** ape.c ape_read_header: the descriptor and header of version 3.98 and later. */
function parseHeader(b: Uint8Array, junk: number): ApeHeader {
  if (!startsWith(b, 'MAC ')) throw new ProbeError('corrupt_file', 'no APE signature');
  const version = u16le(b, 4);
  if (version < MIN_VERSION || version > MAX_VERSION) throw new ProbeError('corrupt_file', `unsupported APE file version ${version}`);
  if (version < 3980) throw new DecoderNeeded(MIME, `APE file version ${version} (before 3.98)`);
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
 * The file must hold the audio data the descriptor declares, and the demuxer reads each frame
 * from its seek table position: a frame that starts past the end of the data ends the stream
 * early.
 */
async function checkFramesInFile(input: AudioInput, h: ApeHeader, junk: number): Promise<void> {
  const size = await input.size();
  if (h.audioEnd > size) throw new ProbeError('truncated', `APE descriptor declares audio data up to byte ${h.audioEnd}, the file holds ${size}`);
  let last = h.firstFrame;
  if (h.totalFrames > 1) {
    const table = await input.source.read(h.seekTable.offset, h.totalFrames * 4);
    if (table.byteLength < h.totalFrames * 4) throw new ProbeError('truncated', `APE seek table of ${h.totalFrames} entries is cut by the end of the file`);
    for (let i = 1; i < h.totalFrames; i++) last = Math.max(last, u32le(table, i * 4) + junk);
  }
  if (last >= h.audioEnd) throw new ProbeError('corrupt_file', `APE frame at byte ${last} starts past the audio data, which ends at byte ${h.audioEnd}`);
}
