import { ProbeError } from '../../errors.js';
import { BlockReader, startsWith, u16le, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * WavPack, as ffmpeg's wv demuxer and decoder play it: every block header in the file is
 * walked; each frame (an initial block and the blocks up to its final one) decodes to the
 * initial block's sample count. The header's total sample count, when it gives one, must be
 * backed by the blocks. DSD WavPack decodes to PCM at 1/8 of its 1-bit rate; SPEC reports the
 * 1-bit rate and a depth of 1.
 */

const MIME = 'audio/x-wavpack';
const HEADER_BYTES = 32;
const BLOCK_LIMIT = 1 << 20;
const MONO = 0x4;
const INITIAL = 0x800;
const FINAL = 0x1000;
const DSD = 0x80000000;
const RATES = [6000, 8000, 9600, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000, 192000];
const UNKNOWN_LENGTH = 0xffffffff;

interface BlockHeader {
  /** Bytes of the block after its 32-byte header. */
  bodySize: number;
  totalSamples: number;
  samples: number;
  flags: number;
}

/** ff_wv_parse_header plus the version range wvdec.c accepts. */
function parseBlockHeader(b: Uint8Array, offset: number): BlockHeader {
  if (!startsWith(b, 'wvpk')) throw new ProbeError('corrupt_file', `no WavPack block at byte ${offset}`);
  const size = u32le(b, 4);
  const version = u16le(b, 8);
  if (size < 24 || size > BLOCK_LIMIT) throw new ProbeError('corrupt_file', `WavPack block at byte ${offset} declares ${size} bytes`);
  if (version < 0x402 || version > 0x410) throw new ProbeError('corrupt_file', `WavPack version 0x${version.toString(16)}`);
  return { bodySize: size - 24, totalSamples: u32le(b, 12), samples: u32le(b, 20), flags: u32le(b, 24) };
}

interface StreamShape {
  /** SPEC sample rate (the 1-bit rate for DSD). */
  sampleRate: number;
  channels: number;
  bitDepth: number;
  /** The rate the decoder's samples are counted at (wvdec.c: table rate x DSD multiplier). */
  decodedRate: number;
}

export async function readWavpack(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const size = await input.size();
  const reader = new BlockReader(input.source);
  let shape: StreamShape | undefined;
  let declared = UNKNOWN_LENGTH;
  let samples = 0;
  for (let offset = start; offset < size; ) {
    const bytes = await reader.bytes(offset, HEADER_BYTES);
    if (!startsWith(bytes, 'wvpk')) {
      if (shape) break; // tags (APEv2, ID3v1) after the last block end the stream
      throw new ProbeError('corrupt_file', `no WavPack block at byte ${offset}`);
    }
    if (bytes.byteLength < HEADER_BYTES) throw new ProbeError('truncated', `WavPack block header at byte ${offset} is cut by the end of the file`);
    const block = parseBlockHeader(bytes, offset);
    const end = offset + HEADER_BYTES + block.bodySize;
    if (end > size) throw new ProbeError('truncated', `WavPack block at byte ${offset} declares ${block.bodySize + HEADER_BYTES} bytes, the file holds ${size - offset}`);
    if (block.samples !== 0) {
      if (!shape) {
        shape = await streamShape(block, await reader.bytes(offset + HEADER_BYTES, block.bodySize));
        declared = block.totalSamples;
      } else checkSameShape(block, shape, offset);
      if (block.flags & INITIAL) samples += block.samples;
    }
    offset = end;
  }
  if (!shape) throw new ProbeError('no_audio_stream', 'WavPack file without audio blocks');
  if (declared !== UNKNOWN_LENGTH && samples < declared) {
    throw new ProbeError('truncated', `WavPack header declares ${declared} samples, the blocks hold ${samples}`);
  }
  const { sampleRate, channels, bitDepth, decodedRate } = shape;
  return { mime: MIME, codec: 'wavpack', sampleRate, channels, bitDepth, duration: samples / decodedRate };
}

/** Rate, channels and depth from the first audio block: its flags, or its metadata when they do not say. */
async function streamShape(block: BlockHeader, body: Uint8Array): Promise<StreamShape> {
  const dsd = (block.flags & DSD) !== 0;
  const multichannel = !(block.flags & INITIAL && block.flags & FINAL);
  const metadata = multichannel || dsd || ((block.flags >> 23) & 15) === 15 ? readMetadata(body) : {};
  const tableRate = RATES[(block.flags >> 23) & 15] ?? metadata.sampleRate;
  const channels = multichannel ? metadata.channels : block.flags & MONO ? 1 : 2;
  if (!tableRate || !channels) throw new ProbeError('corrupt_file', 'WavPack block without its sample rate or channel count');
  if (dsd) {
    const decodedRate = tableRate * (metadata.dsdMultiplier ?? 4);
    return { sampleRate: decodedRate * 8, channels, bitDepth: depth(block.flags), decodedRate };
  }
  return { sampleRate: tableRate, channels, bitDepth: depth(block.flags), decodedRate: tableRate };
}

/** DSD is 1 bit; otherwise the decoder's bits_per_raw_sample, the stored sample size (4 bytes for float too). */
const depth = (flags: number) => (flags & DSD ? 1 : ((flags & 3) + 1) * 8);

/** wvdec.c: a block whose depth, channels or rate differs from the first ends the stream with an error. */
function checkSameShape(block: BlockHeader, shape: StreamShape, offset: number): void {
  const rate = RATES[(block.flags >> 23) & 15];
  const multichannel = !(block.flags & INITIAL && block.flags & FINAL);
  const changed =
    depth(block.flags) !== shape.bitDepth ||
    (!multichannel && (block.flags & MONO ? 1 : 2) !== shape.channels) ||
    (rate !== undefined && !(block.flags & DSD) && rate !== shape.sampleRate);
  if (changed) throw new DecoderNeeded(MIME, `WavPack stream parameters change at byte ${offset}`);
}

interface Metadata {
  channels?: number;
  sampleRate?: number;
  dsdMultiplier?: number;
}

/** Sub-blocks ID_CHANNEL_INFO (0x0D), ID_DSD_BLOCK (0x0E) and ID_SAMPLE_RATE (0x27), read as wvdec.c reads them. */
function readMetadata(body: Uint8Array): Metadata {
  const found: Metadata = {};
  for (let p = 0; p + 2 <= body.byteLength; ) {
    const id = body[p]!;
    const large = (id & 0x80) !== 0;
    let size = (large ? body[p + 1]! | (body[p + 2]! << 8) | (body[p + 3]! << 16) : body[p + 1]!) * 2;
    p += large ? 4 : 2;
    const data = p;
    if (id & 0x40) size--;
    if ((id & 0x3f) === 0x0d) {
      if (size <= 1 || size - 2 > 5) throw new ProbeError('corrupt_file', 'invalid WavPack channel information');
      found.channels = size - 2 >= 4 ? (body[data]! | ((body[data + 2]! & 0xf) << 8)) + 1 : body[data]!;
    } else if ((id & 0x3f) === 0x0e) {
      if (size <= 1) throw new ProbeError('corrupt_file', 'invalid WavPack DSD block');
      found.dsdMultiplier = 2 ** (body[data]! & 0x1f);
    } else if ((id & 0x3f) === 0x27) {
      found.sampleRate = body[data]! | (body[data + 1]! << 8) | (body[data + 2]! << 16);
    }
    p = data + size + (id & 0x40 ? 1 : 0);
  }
  return found;
}
