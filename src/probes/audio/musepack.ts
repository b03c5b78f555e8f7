import { ProbeError } from '../../errors.js';
import { readExactly, startsWith, u32le } from './bytes.js';
import { allowedShortfall, checkAgainstDeclared } from './decoder.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { InvalidCode } from './musepack-bits.js';
import { walkSv7 } from './musepack-sv7.js';
import { Sv8Decoder, sv8Format, Sv8Unmodelled } from './musepack-sv8.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * Musepack, as FFmpeg 5.1 plays it: the demuxer's packets walked and every frame's symbols
 * decoded (musepack-sv7.ts, musepack-sv8.ts) to count the frames the decoder outputs, 1152
 * samples each, and that length judged against the header's as the decoder fallback judges it.
 * SV7 ('MP+'): the header's frame count of frames, each sized by the 20-bit length in front
 * of it; a frame cut by the end of the file ends the stream (truncated). SV8 ('MPCK'): audio
 * packets until the stream end packet, the file's end or an APE tag.
 */

const FRAME_SAMPLES = 1152;
/** Larger files are left to the decoder: the walk reads them whole. */
const MAX_WALKED_BYTES = 64 * 1024 * 1024;
const SV7_RATES = [44100, 48000, 37800, 32000];
/** 'MP+', version, frame count, then the 16 bytes the demuxer hands the decoder. */
const SV7_HEADER_BYTES = 24;
/** The demuxer keeps 16 bytes per frame and refuses counts whose table reaches UINT_MAX. */
const SV7_MAX_FRAMES = Math.ceil(0xffffffff / 16);
/** mpc7_decode_init refuses this many subbands. */
const SV7_BANDS = 32;

export async function readMusepack(input: AudioInput): Promise<AudioFacts> {
  const { end: start } = await skipLeadingId3v2(input.source, input.head);
  const magic = await readExactly(input.source, start, 4, 'Musepack signature');
  if (startsWith(magic, 'MPCK')) return readSv8(input, start);
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
  const info = u32le(header, 8);
  const maxBand = (info >>> 24) & 0x3f;
  if (maxBand >= SV7_BANDS) throw new ProbeError('corrupt_file', `Musepack SV7 header declares ${maxBand} subbands`);
  const sampleRate = SV7_RATES[header[10]! & 3]!;
  const declared = (frames * FRAME_SAMPLES) / sampleRate;
  const first = start + SV7_HEADER_BYTES;
  const size = await input.size();
  // Every frame spends at least its 20-bit length field: a count no file could hold is cut.
  if (first * 8 + 8 + frames * 20 > size * 8) {
    throw new ProbeError('truncated', `Musepack SV7 header declares ${frames} frames, the file of ${size} bytes cannot hold them`);
  }
  if (size > MAX_WALKED_BYTES) throw new DecoderNeeded(mime, `Musepack SV7 file of ${size} bytes: the decoder walks it`, declared);
  const data = await input.source.read(first, size - first);
  const walk = decoding(mime, () => walkSv7({ words: swapWords(data), available: data.byteLength, frames, maxBand, midSide: ((info >>> 30) & 1) === 1 }));
  if (walk.kind === 'cut') {
    throw new ProbeError('truncated', `Musepack SV7 frame ${walk.frame + 1} of ${frames} runs to byte ${first + walk.packetEnd}, the file holds ${size}`);
  }
  return measured({ mime, codec: 'musepack7', sampleRate, channels: 2, samples: walk.keptFrames * FRAME_SAMPLES, declared });
}

/** The stream as plain MSB-first bytes: each little-endian 32-bit word reversed (zeros after a partial last word). */
function swapWords(data: Uint8Array): Uint8Array {
  const words = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  for (let i = 0; i < data.byteLength; i++) words[(i & ~3) + 3 - (i & 3)] = data[i]!;
  return words;
}

/**
 * Runs a walk. A case it does not reproduce (Sv8Unmodelled, a bit sequence no code matches)
 * or does not expect leaves the file to the decoder rather than become an error of its own.
 */
function decoding<T>(mime: string, walk: () => T): T {
  try {
    return walk();
  } catch (error) {
    if (error instanceof ProbeError || error instanceof DecoderNeeded) throw error;
    const what = error instanceof InvalidCode ? 'a bit sequence no code matches' : (error as Error).message;
    throw new DecoderNeeded(mime, `Musepack walk: ${what}`);
  }
}

interface Measured {
  mime: string;
  codec: string;
  sampleRate: number;
  channels: number;
  /** What the decoder outputs. */
  samples: number;
  /** ffprobe's format duration (the header's), when it has one. */
  declared: number | undefined;
}

/**
 * The decoded length as the decoder fallback (decoder.ts) takes it: no audio at all is
 * truncated when the header declares a duration, else corrupt; a length short of the declared
 * one by more than max(0.5 s, 0.5%) is truncated. ffprobe prints the declared duration to the
 * microsecond, so a shortfall that close to the limit is left to it.
 */
function measured({ mime, codec, sampleRate, channels, samples, declared }: Measured): AudioFacts {
  if (samples === 0) throw new ProbeError(declared ? 'truncated' : 'corrupt_file', 'the decoder produced no audio from the file');
  const duration = samples / sampleRate;
  if (declared && Math.abs(declared - duration - allowedShortfall(declared, false)) < 1e-5) {
    throw new DecoderNeeded(mime, 'Musepack decoded length at the truncation limit');
  }
  checkAgainstDeclared(duration, declared || undefined, false);
  return { mime, codec, sampleRate, channels, bitDepth: 16, duration };
}

const SV8_RATES = [44100, 48000, 37800, 32000];
const SV8_MAX_CHANNELS = 2;
/** CRC, version, two variable-length counts of up to 10 bytes each, and the 2 format bytes. */
const SV8_HEADER_FIELDS_MAX = 27;
/** mpc8_decode_init refuses this many bands. */
const SV8_BANDS = 32;
/** av_get_packet's size limit; a larger packet size makes the demuxer fail. */
const INT_MAX = 0x7fffffff;

/**
 * mpc8_read_header: packets (2-letter key, variable-length size) up to the stream header,
 * which must be what mpc8_probe accepts (11 to 28 bytes, nonzero CRC) and hold version 8, a
 * defined sample rate and at most 2 channels (the decoder's limit). Then mpc8_read_packet's
 * walk of the packets feeds the decoder.
 */
async function readSv8(input: AudioInput, start: number): Promise<AudioFacts> {
  const mime = containerMime('mpc8', input.head, input.detection)!;
  let pos = start + 4;
  for (;;) {
    const packet = await readSv8PacketHeader(input, pos);
    if (packet.key === 'SH') {
      // The demuxer reads the fields wherever they end, whatever the packet size says.
      const body = await input.source.read(pos + packet.headerBytes, SV8_HEADER_FIELDS_MAX);
      checkSv8StreamHeader(body, packet.size - (packet.headerBytes - 2));
      return decodeSv8(input, mime, pos, packet);
    }
    // A seek table offset before the stream header sends the demuxer to parse it early.
    if (packet.key === 'SO') throw new DecoderNeeded(mime, 'Musepack SV8 seek table before the stream header');
    pos += packet.size;
  }
}

async function decodeSv8(input: AudioInput, mime: string, headerPos: number, header: Sv8PacketHeader): Promise<AudioFacts> {
  const size = await input.size();
  if (size > MAX_WALKED_BYTES) throw new DecoderNeeded(mime, `Musepack SV8 file of ${size} bytes: the decoder walks it`);
  const file = await input.source.read(0, size);
  return decoding(mime, () => decodeSv8Packets(file, mime, headerPos, header));
}

function decodeSv8Packets(file: Uint8Array, mime: string, headerPos: number, header: Sv8PacketHeader): AudioFacts {
  const size = file.byteLength;
  const fields = new Sv8Fields(file, headerPos + header.headerBytes);
  fields.skip(5); // CRC, version
  const samples = fields.varlen();
  fields.varlen(); // beginning silence: FFmpeg does not use it
  const extradata = fields.bytes(2);
  if (fields.pos > size) throw new ProbeError('truncated', 'Musepack SV8 file ends inside its stream header');
  const format = sv8Format(extradata);
  if (format.maxBands >= SV8_BANDS) throw new DecoderNeeded(mime, `Musepack SV8 stream of ${format.maxBands} bands, which the decoder refuses`);
  const sampleRate = SV8_RATES[extradata[0]! >> 5]!;
  const decoder = new Sv8Decoder(format);
  const payloadEnd = headerPos + header.size;
  walkSv8Packets(file, Math.max(payloadEnd, fields.pos), { decoder, apeTagStart: apeTagStart(file) });
  // The demuxer's stream duration: whole packets of the header's sample count.
  const packetSamples = FRAME_SAMPLES << (2 * (extradata[1]! & 3));
  const declared = (Math.floor(samples / packetSamples) * packetSamples) / sampleRate;
  return measured({ mime, codec: 'musepack8', sampleRate, channels: (extradata[1]! >> 4) + 1, samples: decoder.frames * FRAME_SAMPLES, declared: declared || undefined });
}

/** Reads as FFmpeg's avio does: past the end, bytes are zero and the position stays. */
class Sv8Fields {
  constructor(
    private readonly file: Uint8Array,
    public pos: number,
  ) {}

  get ended(): boolean {
    return this.pos >= this.file.byteLength;
  }

  skip(n: number): void {
    this.pos += n;
  }

  bytes(n: number): Uint8Array {
    const bytes = new Uint8Array(n);
    bytes.set(this.file.subarray(this.pos, this.pos + n));
    this.pos += n;
    return bytes;
  }

  /** ffio_read_varlen; a value beyond 2^53 is not followed. */
  varlen(): number {
    let value = 0;
    for (let i = 0; ; i++) {
      if (this.ended) return value * 128;
      const byte = this.file[this.pos++]!;
      if (i === 7) throw new Sv8Unmodelled('variable-length number of more than 7 bytes');
      value = value * 128 + (byte & 0x7f);
      if ((byte & 0x80) === 0) return value;
    }
  }
}

interface Sv8Walk {
  decoder: Sv8Decoder;
  apeTagStart: number;
}

/**
 * mpc8_read_packet until it ends the stream. A stream end packet or a bad packet size ends a
 * read, not the file: ffprobe reads on after it when stream probing stopped there, so bytes
 * that could still be read after it leave the file to the decoder.
 */
function walkSv8Packets(file: Uint8Array, pos: number, walk: Sv8Walk): void {
  const atEnd = (at: number) => (walk.apeTagStart && at >= walk.apeTagStart) || at >= file.byteLength;
  for (;;) {
    if (atEnd(pos)) return;
    const chunk = readChunkHeader(file, pos);
    // An incomplete header reads zeros up to the end of the file: nothing is left to read.
    if (chunk === undefined) return;
    if (chunk.key === 'SE' || chunk.size < 0 || chunk.size > INT_MAX) {
      if (atEnd(chunk.payload)) return;
      throw new Sv8Unmodelled(`bytes after the stream's end at byte ${chunk.payload}, which ffprobe may read on into`);
    }
    if (chunk.key === 'AP') {
      if (chunk.size === 0) throw new Sv8Unmodelled('empty audio packet');
      const available = Math.min(chunk.size, file.byteLength - chunk.payload);
      if (available <= 0) return;
      walk.decoder.packet(file, chunk.payload, available);
    }
    // Other packets, the seek table offset too, are skipped: FFmpeg 5.1 parses the seek table
    // it points to and returns to the packet's end whether that succeeds or not.
    pos = chunk.payload + chunk.size;
  }
}

interface Chunk {
  key: string;
  payload: number;
  /** Payload bytes (the size field less the key and itself). */
  size: number;
}

function readChunkHeader(file: Uint8Array, pos: number): Chunk | undefined {
  if (pos + 3 > file.byteLength) return undefined;
  const fields = new Sv8Fields(file, pos + 2);
  const value = fields.varlen();
  if (fields.ended && (file[fields.pos - 1]! & 0x80) !== 0) return undefined;
  return { key: String.fromCharCode(file[pos]!, file[pos + 1]!), payload: fields.pos, size: value - (fields.pos - pos) };
}

/** ff_ape_parse_tag: where the demuxer stops reading packets (0: no tag it accepts). */
function apeTagStart(file: Uint8Array): number {
  const size = file.byteLength;
  if (size < 32 || !startsWith(file, 'APETAGEX', size - 32)) return 0;
  const version = u32le(file, size - 24);
  const tagBytes = u32le(file, size - 20);
  const fields = u32le(file, size - 16);
  const flags = u32le(file, size - 12);
  if (version > 2000 || ((tagBytes - 32) >>> 0) > 16 * 1024 * 1024 || tagBytes > size - 32 || fields > 65536) return 0;
  if (flags & 0x20000000) return 0;
  // The tag size counts the items and footer; a header flag adds the header in front.
  return size - tagBytes - (flags & 0x80000000 ? 32 : 0);
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
