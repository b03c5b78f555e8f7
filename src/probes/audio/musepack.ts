import { ProbeError } from '../../errors.js';
import { BlockReader, readExactly, startsWith, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { skipLeadingId3v2, trailingTagsStart } from './tags.js';

/**
 * Musepack, as FFmpeg 5.1 plays it. SV7 ('MP+'): the mpc demuxer reads the header's frame
 * count of frames, each sized by the 20-bit length in front of it, and the mpc7 decoder turns
 * every one into 1152 samples: the header's last-frame length is never applied (the demuxer's
 * last-frame flag cannot be set), so the length is frames x 1152. The walk checks that every
 * frame is in the file (else the demuxer stops early: truncated) and that the chain of lengths
 * ends where the audio data ends, which a damaged length would not.
 * SV8 ('MPCK'): how many frames the mpc8 decoder draws from each packet depends on the bits it
 * decodes, so the header is only checked for what FFmpeg refuses and the decoder measures.
 */

const FRAME_SAMPLES = 1152;
const SV7_RATES = [44100, 48000, 37800, 32000];
/** 'MP+', version, frame count, then the 16 bytes the demuxer hands the decoder. */
const SV7_HEADER_BYTES = 24;
/** The demuxer keeps 16 bytes per frame and refuses counts whose table reaches UINT_MAX. */
const SV7_MAX_FRAMES = Math.ceil(0xffffffff / 16);
/** mpc7_decode_init refuses this many subbands. */
const SV7_BANDS = 32;
/** Encoders end the stream on a word boundary, some with a spare word; more is not a stream end. */
const SV7_END_SLACK = 8;

export async function readMusepack(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const magic = await readExactly(input.source, start, 4, 'Musepack signature');
  if (startsWith(magic, 'MPCK')) return checkSv8(input, start);
  return readSv7(input, start);
}

async function readSv7(input: AudioInput, start: number): Promise<AudioFacts> {
  const mime = containerMime('mpc', input.head, input.detection)!;
  const header = await readExactly(input.source, start, SV7_HEADER_BYTES, 'Musepack SV7 header');
  if (!startsWith(header, 'MP+')) throw new ProbeError('corrupt_file', 'no Musepack signature');
  if (header[3] !== 0x07 && header[3] !== 0x17) throw new DecoderNeeded(mime, `Musepack stream version 0x${header[3]!.toString(16)}`);
  const frames = u32le(header, 4);
  if (frames >= SV7_MAX_FRAMES) throw new ProbeError('corrupt_file', `Musepack SV7 header declares ${frames} frames`);
  if (frames === 0) throw new DecoderNeeded(mime, 'Musepack SV7 header declares no frame count: the demuxer reads to the end');
  // The decoder reads its stream info as big-endian bits of little-endian 32-bit words.
  const maxBand = (u32le(header, 8) >>> 24) & 0x3f;
  if (maxBand >= SV7_BANDS) throw new ProbeError('corrupt_file', `Musepack SV7 header declares ${maxBand} subbands`);
  const sampleRate = SV7_RATES[header[10]! & 3]!;
  await checkSv7Frames(input, start + SV7_HEADER_BYTES, frames, mime);
  // SV7 frames carry no checksum: a damaged frame with intact length fields is dropped by the
  // decoder, 1152 samples less than the header counts (11 of 75 single-bit flips in a
  // differential run). Only decoding tells, so the decoder measures; the header count is the check.
  throw new DecoderNeeded(mime, 'Musepack SV7: only the decoder knows which frames it drops', (frames * FRAME_SAMPLES) / sampleRate);
}

/**
 * mpc_read_packet: a frame's 20-bit bit length starts `bits` bits into the 32-bit word at `pos`;
 * the packet is the whole words from `pos` that hold the length and the frame, and the next
 * frame starts in the last of them unless the frame ends on a word boundary.
 */
async function checkSv7Frames(input: AudioInput, first: number, frames: number, mime: string): Promise<void> {
  const size = await input.size();
  // Every frame spends at least its 20-bit length field: a count no file could hold is cut.
  if (first * 8 + 8 + frames * 20 > size * 8) {
    throw new ProbeError('truncated', `Musepack SV7 header declares ${frames} frames, the file of ${size} bytes cannot hold them`);
  }
  const reader = new BlockReader(input.source);
  let pos = first;
  let bits = 8;
  for (let i = 0; i < frames; i++) {
    const words = await reader.bytes(pos, 8);
    const frameBits = sv7FrameBits(words, bits);
    const packetBytes = Math.ceil((bits + 20 + frameBits) / 32) * 4;
    if (pos + packetBytes > size) {
      throw new ProbeError('truncated', `Musepack SV7 frame ${i + 1} of ${frames} runs to byte ${pos + packetBytes}, the file holds ${size}`);
    }
    bits = (bits + 20 + frameBits) % 32;
    pos += packetBytes - (bits ? 4 : 0);
  }
  const audioEnd = pos + (bits ? 4 : 0);
  const tagsStart = await trailingTagsStart(input.source, audioEnd, size);
  if (tagsStart - audioEnd > SV7_END_SLACK) {
    throw new DecoderNeeded(mime, `Musepack SV7 frames end at byte ${audioEnd}, ${tagsStart - audioEnd} bytes before the end of the audio data`);
  }
}

/** mpc_read_packet's read of the 20 bits at bit `bits` (MSB first) of the little-endian words in `bytes`. */
function sv7FrameBits(bytes: Uint8Array, bits: number): number {
  const word = (offset: number) => (offset + 4 <= bytes.byteLength ? u32le(bytes, offset) : 0);
  if (bits <= 12) return (word(0) >>> (12 - bits)) & 0xfffff;
  return ((word(0) << (bits - 12)) | (word(4) >>> (44 - bits))) & 0xfffff;
}

const SV8_RATES = [44100, 48000, 37800, 32000];
const SV8_MAX_CHANNELS = 2;
/** CRC, version, two variable-length counts of up to 10 bytes each, and the 2 format bytes. */
const SV8_HEADER_FIELDS_MAX = 27;

/**
 * mpc8_read_header: packets (2-letter key, variable-length size) up to the stream header,
 * which must be what mpc8_probe accepts (11 to 28 bytes, nonzero CRC) and hold version 8, a
 * defined sample rate and at most 2 channels (the decoder's limit). Then the decoder measures.
 */
async function checkSv8(input: AudioInput, start: number): Promise<never> {
  const mime = containerMime('mpc8', input.head, input.detection)!;
  let pos = start + 4;
  for (;;) {
    const packet = await readSv8PacketHeader(input, pos);
    if (packet.key === 'SH') {
      // The demuxer reads the fields wherever they end, whatever the packet size says.
      const body = await input.source.read(pos + packet.headerBytes, SV8_HEADER_FIELDS_MAX);
      checkSv8StreamHeader(body, packet.size - (packet.headerBytes - 2));
      throw new DecoderNeeded(mime, 'Musepack SV8: the decoder decides how many frames each packet holds');
    }
    // A seek table offset before the stream header sends the demuxer to parse it early.
    if (packet.key === 'SO') throw new DecoderNeeded(mime, 'Musepack SV8 seek table before the stream header');
    pos += packet.size;
  }
}

interface Sv8PacketHeader {
  key: string;
  /** Whole packet, key and size field included. */
  size: number;
  headerBytes: number;
}

async function readSv8PacketHeader(input: AudioInput, pos: number): Promise<Sv8PacketHeader> {
  const bytes = await input.source.read(pos, 12);
  if (bytes.byteLength < 3) throw new ProbeError('truncated', `Musepack SV8 file ends at byte ${pos + bytes.byteLength} before its stream header`);
  const key = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (!/^[A-Z]{2}$/.test(key)) throw new ProbeError('corrupt_file', `Musepack SV8 packet key ${JSON.stringify(key)} at byte ${pos}`);
  let size = 0;
  let i = 2;
  for (;;) {
    if (i >= bytes.byteLength) throw new ProbeError('corrupt_file', `Musepack SV8 packet size at byte ${pos} does not end`);
    const byte = bytes[i++]!;
    size = size * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
  }
  if (size < i) throw new ProbeError('corrupt_file', `Musepack SV8 packet ${key} at byte ${pos} declares ${size} bytes`);
  return { key, size, headerBytes: i };
}

/** `probedSize` is what mpc8_probe compares: the packet size less its size field. */
function checkSv8StreamHeader(body: Uint8Array, probedSize: number): void {
  if (body.byteLength < 5) throw new ProbeError('truncated', 'Musepack SV8 file ends inside its stream header');
  if (probedSize < 11 || probedSize > 28 || u32le(body, 0) === 0) {
    throw new ProbeError('corrupt_file', `Musepack SV8 stream header of ${probedSize} bytes that FFmpeg does not recognise`);
  }
  if (body[4] !== 8) throw new ProbeError('corrupt_file', `Musepack SV8 stream version ${body[4]}`);
  let i = 5;
  for (let field = 0; field < 2; field++) {
    while (i < body.byteLength && (body[i]! & 0x80) !== 0) i++;
    i++;
  }
  if (i + 2 > body.byteLength) throw new ProbeError('truncated', 'Musepack SV8 file ends inside its stream header');
  const rate = SV8_RATES[body[i]! >> 5];
  const channels = (body[i + 1]! >> 4) + 1;
  if (rate === undefined) throw new ProbeError('corrupt_file', `Musepack SV8 sample rate index ${body[i]! >> 5}`);
  if (channels > SV8_MAX_CHANNELS) throw new ProbeError('corrupt_file', `Musepack SV8 stream of ${channels} channels, which FFmpeg does not decode`);
}

/**
 * Musepack SV4-SV6 (no signature; the version is bits 11-20 of the first little-endian word, as
 * mutagen and taglib read it). ffmpeg reads SV7 and SV8 only: its mpc demuxer is chosen for such
 * a file by the .mpc extension alone (score 1; MPEG audio look-alikes in the stream at best tie
 * it, which leaves no format) and then refuses it ("Not a Musepack file"). Under any other name
 * some other demuxer may take the bytes, so only .mpc is decided.
 */
export function isMusepackBeforeSv7(head: Uint8Array, extension: string): boolean {
  if (extension !== 'mpc' || head.byteLength < 4 || startsWith(head, 'MP+') || startsWith(head, 'MPCK')) return false;
  const version = (u32le(head, 0) >>> 11) & 0x3ff;
  return version >= 4 && version <= 6;
}
