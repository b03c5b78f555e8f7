import { ProbeError } from '../../errors.js';
import { ascii, BlockReader, readExactly, startsWith, u16le, u32be, u32le, u64 } from './bytes.js';
import { isAdtsAt, parseAdtsHeader } from './adts.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { parseMpegHeader, parseMpegStream } from './mpeg.js';
import { checkStreamShape, G711, linearPcm, type PcmLayout } from './pcm.js';

/**
 * RIFF WAVE, RF64/BW64 and Sony Wave64, read as ffmpeg's wav demuxer reads them: the first `fmt `
 * and `data` chunks; a data size of 0 or 0xFFFFFFFF means "to the end of the file". The data is
 * cut into packets as the demuxer cuts it and each packet decoded as ffmpeg's decoder would:
 * PCM, float and G.711, IMA ADPCM (4-bit) and MP3 are measured here; any other codec inside,
 * and PCM that ffmpeg's stream probe may take for a compressed format, is left to the decoder.
 */

const MIME = 'audio/wav';
/** Wave64 GUIDs are the chunk's four-character code followed by this suffix. */
const W64_GUID_SUFFIX = [0xf3, 0xac, 0xd3, 0x11, 0x8c, 0xd1, 0x00, 0xc0, 0x4f, 0x8e, 0xdb, 0x8a];
const W64_RIFF = [0x72, 0x69, 0x66, 0x66, 0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00];

export function isWav(head: Uint8Array): boolean {
  return (
    ((startsWith(head, 'RIFF') || startsWith(head, 'RF64') || startsWith(head, 'BW64')) && startsWith(head, 'WAVE', 8)) ||
    (startsWith(head, W64_RIFF) && startsWith(head, 'wave', 24))
  );
}

interface Chunk {
  id: string;
  /** Offset of the chunk's payload. */
  body: number;
  /** Payload size as declared. */
  size: number;
}

interface Layout {
  /** Bytes before the first chunk. */
  first: number;
  /** Chunk header size (8 for RIFF, 24 for Wave64). */
  header: number;
  /** Chunks start at multiples of this. */
  align: number;
  readChunk(bytes: Uint8Array): { id: string; size: number };
}

const RIFF_LAYOUT: Layout = {
  first: 12,
  header: 8,
  align: 2,
  readChunk: (b) => ({ id: ascii(b, 0), size: u32le(b, 4) }),
};

const W64_LAYOUT: Layout = {
  first: 40,
  header: 24,
  align: 8,
  readChunk: (b) => {
    const known = startsWith(b, W64_GUID_SUFFIX, 4);
    const total = u64(b, 16, true);
    if (total < 24) throw new ProbeError('corrupt_file', `Wave64 chunk declares ${total} bytes, less than its header`);
    return { id: known ? ascii(b, 0) : '?', size: total - 24 };
  },
};

export async function readWav(input: AudioInput): Promise<AudioFacts> {
  const layout = startsWith(input.head, W64_RIFF) ? W64_LAYOUT : RIFF_LAYOUT;
  const size = await input.size();
  const chunks = await listChunks(input, layout, size);
  const fmt = chunks.find((c) => c.id === 'fmt ');
  const data = chunks.find((c) => c.id === 'data');
  if (!fmt) throw new ProbeError('corrupt_file', 'WAV file without a fmt chunk');
  if (!data) throw new ProbeError('truncated', 'WAV file without a data chunk');
  // When the first data chunk ends, ffmpeg reads on from the next one.
  if (chunks.filter((c) => c.id === 'data').length > 1) throw new DecoderNeeded(MIME, 'WAV file with several data chunks');
  const format = parseFmt(await readExactly(input.source, fmt.body, Math.min(fmt.size, 64), 'WAV fmt chunk'), fmt.size, layout === W64_LAYOUT);
  const dataBytes = await dataSize(input, layout, data, size);
  const stream = { format, start: data.body, bytes: dataBytes };
  const codec = format.codec;
  if (codec === 'adpcm_ima_wav') return { mime: MIME, ...(await imaAdpcm(input, stream)) };
  if (codec === 'mp3') return { mime: MIME, ...(await mp3(input, stream)) };
  if (format.tag === 1) await checkNotCompressed(input, stream, codec.sampleBytes === 2);
  return {
    mime: MIME,
    codec: codec.codec,
    sampleRate: format.sampleRate,
    channels: format.channels,
    bitDepth: codec.bitDepth,
    duration: pcmFrames(dataBytes, codec.sampleBytes * format.channels, format.blockAlign) / format.sampleRate,
  };
}

/**
 * Walks the chunk list as ffmpeg does. A fmt or data chunk that runs past the end of the file is
 * truncation; any other such chunk ends the list (ffmpeg stops there too).
 */
async function listChunks(input: AudioInput, layout: Layout, size: number): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  let offset = layout.first;
  while (offset + layout.header <= size) {
    const { id, size: declared } = layout.readChunk(await readExactly(input.source, offset, layout.header, 'WAV chunk header'));
    const body = offset + layout.header;
    const open = id === 'data' && (declared === 0 || declared === 0xffffffff) && layout === RIFF_LAYOUT;
    if (!open && body + declared > size && !isRf64Placeholder(input.head, id, declared)) {
      if (id !== 'data' && id !== 'fmt ') break;
      throw new ProbeError('truncated', `WAV ${id.trim()} chunk at byte ${offset} declares ${declared} bytes, the file holds ${size - body}`);
    }
    chunks.push({ id, body, size: declared });
    if (open || isRf64Placeholder(input.head, id, declared)) break;
    offset = alignUp(body + declared, layout.align);
  }
  return chunks;
}

/** In RF64/BW64 the 32-bit sizes of the RIFF and data chunks are 0xFFFFFFFF; ds64 holds the real ones. */
function isRf64Placeholder(head: Uint8Array, id: string, declared: number): boolean {
  return id === 'data' && declared === 0xffffffff && !startsWith(head, 'RIFF');
}

const alignUp = (offset: number, align: number) => Math.ceil(offset / align) * align;

async function dataSize(input: AudioInput, layout: Layout, data: Chunk, size: number): Promise<number> {
  const available = size - data.body;
  if (layout === W64_LAYOUT) return data.size;
  if (startsWith(input.head, 'RIFF')) return data.size === 0 || data.size === 0xffffffff ? available : data.size;
  // RF64 / BW64: the data size is in the ds64 chunk, which must come first.
  const ds64 = await readExactly(input.source, 12, 28, 'RF64 ds64 chunk');
  if (ascii(ds64, 0) !== 'ds64') throw new ProbeError('corrupt_file', 'RF64 file without a ds64 chunk');
  const declared = data.size === 0xffffffff ? u64(ds64, 16, true) : data.size;
  if (declared > available) {
    throw new ProbeError('truncated', `RF64 data chunk declares ${declared} bytes, the file holds ${available}`);
  }
  return declared;
}

interface WaveFormat {
  /** Format tag (of the subformat GUID in WAVE_FORMAT_EXTENSIBLE). */
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  codec: PcmLayout | 'adpcm_ima_wav' | 'mp3';
}

/** The data chunk of a WAV file. */
interface WavStream {
  format: WaveFormat;
  start: number;
  bytes: number;
}

const EXTENSIBLE = 0xfffe;
/** KSDATAFORMAT_SUBTYPE GUIDs: the format tag followed by this suffix. */
const SUBTYPE_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** WAVEFORMAT(EX/EXTENSIBLE) as ffmpeg's ff_get_wav_header and wav_read_header read it. */
function parseFmt(fmt: Uint8Array, declared: number, wave64: boolean): WaveFormat {
  if (declared < 14 || fmt.byteLength < 14) throw new ProbeError('corrupt_file', `WAV fmt chunk of ${declared} bytes is too short`);
  let tag = u16le(fmt, 0);
  const channels = u16le(fmt, 2);
  const sampleRate = u32le(fmt, 4);
  const blockAlign = u16le(fmt, 12);
  let bits = declared >= 16 ? u16le(fmt, 14) : 8;
  if (tag === EXTENSIBLE) {
    const extra = declared >= 18 ? u16le(fmt, 16) : 0;
    if (extra < 22 || declared < 40 || fmt.byteLength < 40) {
      throw new ProbeError('corrupt_file', 'WAVE_FORMAT_EXTENSIBLE fmt chunk without its extension');
    }
    bits = u16le(fmt, 18) || bits; // wValidBitsPerSample, as ffmpeg takes it
    if (!startsWith(fmt, SUBTYPE_SUFFIX, 26)) throw new DecoderNeeded(MIME, 'WAV with a non-PCM subformat GUID');
    tag = u16le(fmt, 24);
  }
  checkStreamShape('WAV', channels, sampleRate);
  return { tag, channels, sampleRate, blockAlign, codec: waveCodec(tag, bits, wave64 ? 0 : blockAlign, channels) };
}

/** `riffBlockAlign`: the block align, for the rule only wav_read_header applies (0 for Wave64, whose demuxer lacks it). */
function waveCodec(tag: number, bits: number, riffBlockAlign: number, channels: number): WaveFormat['codec'] {
  if (tag === 0x11 && bits === 4) return 'adpcm_ima_wav';
  if (tag === 0x55) return 'mp3';
  const layout =
    tag === 1 ? linearPcm(bits, false) :
    tag === 3 ? linearPcm(bits, true) :
    tag === 6 && bits === 8 ? G711.alaw :
    tag === 7 && bits === 8 ? G711.mulaw :
    undefined;
  if (!layout) throw new DecoderNeeded(MIME, `WAV format tag 0x${tag.toString(16)} with ${bits} bits per sample`);
  // wav_read_header: 24-bit integer PCM in 4-byte slots is decoded as pcm_f24le (4-byte samples, 32 bits).
  if (tag === 1 && bits === 24 && riffBlockAlign === 4 * channels) return { codec: 'pcm', sampleBytes: 4, bitDepth: 32 };
  return layout;
}

/** wav_read_packet's packet size: 4096 bytes, or whole blocks of block_align bytes (at least one). */
function packetBytes(blockAlign: number): number {
  return blockAlign > 1 ? Math.floor(Math.max(4096, blockAlign) / blockAlign) * blockAlign : 4096;
}

/**
 * Sample frames ffmpeg's PCM decoder outputs from `dataBytes` of data: whole frames of each
 * packet (it drops a packet's partial frame, even where the next packet would complete it).
 */
export function pcmFrames(dataBytes: number, frameBytes: number, blockAlign: number): number {
  const packet = packetBytes(blockAlign);
  const full = Math.floor(dataBytes / packet);
  return full * Math.floor(packet / frameBytes) + Math.floor((dataBytes - full * packet) / frameBytes);
}

/** ffmpeg's stream probe reads about 32 packets of 16-bit PCM to look for a compressed format. */
const STREAM_PROBE_BYTES = 32 * 4096;
/** Sync words of formats found anywhere in the probed data: IEC 61937 (both byte orders), DTS (16/14-bit, BE/LE), TrueHD. */
const SYNC_WORDS = [0x72f81f4e, 0xf8724e1f, 0x7ffe8001, 0xfe7f0180, 0x1fffe800, 0xff1f00e8, 0xf8726fba].map((word) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(word);
  return bytes;
});

/**
 * Integer PCM may hold a compressed stream that ffmpeg's S/PDIF detection or (16-bit PCM only)
 * its stream probe turns into its codec (DTS CDs, AC-3 over S/PDIF, MP3 or AAC frames from the
 * start): any sign of one is the decoder's business.
 */
async function checkNotCompressed(input: AudioInput, stream: WavStream, probed: boolean): Promise<void> {
  const bytes = await input.source.read(stream.start, Math.min(stream.bytes, STREAM_PROBE_BYTES));
  const found = firstSyncWord(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (found >= 0) throw new DecoderNeeded(MIME, `WAV PCM data with a compressed-audio sync word at byte ${stream.start + found}`);
  let first = 0;
  while (first < bytes.byteLength && bytes[first] === 0) first++;
  if (!probed || first + 4 > bytes.byteLength) return;
  const word = u32be(bytes, first);
  const framed = twoFrames(bytes, first, mpegFrameSize) || twoFrames(bytes, first, adtsFrameSize) || word >>> 16 === 0x0b77 || word >>> 21 === 0x2b7 || word === 0x464f524d; // AC-3, LOAS, 'FORM'
  if (framed) throw new DecoderNeeded(MIME, 'WAV PCM data that starts like a compressed stream');
}

/** Where the first sync word starts in `bytes`, or -1 (a native search: 128 KiB per file). */
function firstSyncWord(bytes: Buffer): number {
  const found = SYNC_WORDS.map((word) => bytes.indexOf(word)).filter((at) => at >= 0);
  return found.length > 0 ? Math.min(...found) : -1;
}

const mpegFrameSize = (b: Uint8Array, o: number) => (o + 4 <= b.byteLength ? parseMpegHeader(u32be(b, o))?.frameSize : undefined);
const adtsFrameSize = (b: Uint8Array, o: number) => (isAdtsAt(b, o) ? parseAdtsHeader(b, o)?.frameLength : undefined);

/** Whether a frame of some syntax starts at `offset` and another follows it. */
function twoFrames(bytes: Uint8Array, offset: number, frameSize: (b: Uint8Array, o: number) => number | undefined): boolean {
  const size = frameSize(bytes, offset);
  return size !== undefined && size > 0 && frameSize(bytes, offset + size) !== undefined;
}

/** IMA ADPCM header per channel: predictor, step index (both 16-bit). */
const IMA_HEADER = 4;
/** Past this the block headers are not all read: the decoder decides. */
const MAX_ADPCM_BYTES = 64 << 20;

/**
 * 4-bit IMA ADPCM as ffmpeg's adpcm_ima_wav decoder plays it: each block of block_align bytes
 * gives 1 + 8 samples per 4 bytes per channel after the headers; a packet's last, partial block
 * gives what its whole 4-byte groups hold. A block whose header has a step index over 88 fails
 * with the rest of its packet, so every header is checked.
 */
async function imaAdpcm(input: AudioInput, stream: WavStream): Promise<Omit<AudioFacts, 'mime'>> {
  const { channels, blockAlign, sampleRate } = stream.format;
  const group = IMA_HEADER * channels;
  if (channels > 2 || blockAlign < group || blockAlign % group !== 0 || stream.bytes > MAX_ADPCM_BYTES) {
    throw new DecoderNeeded(MIME, `IMA ADPCM with ${channels} channels in blocks of ${blockAlign} bytes`);
  }
  const reader = new BlockReader(input.source);
  for (let block = 0; block + group <= stream.bytes; block += blockAlign) {
    const header = await reader.bytes(stream.start + block, group);
    for (let c = 0; c < channels; c++) {
      if (header[c * IMA_HEADER + 2]! > 88 || header[c * IMA_HEADER + 3] !== 0) {
        throw new DecoderNeeded(MIME, `IMA ADPCM block at byte ${stream.start + block} with step index out of range`);
      }
    }
  }
  const packetSamples = (bytes: number) => {
    let samples = 0;
    for (let left = bytes; left >= group; ) {
      const groups = Math.floor((Math.min(left, blockAlign) - group) / group);
      samples += 1 + 8 * groups;
      left -= group * (1 + groups);
    }
    return samples;
  };
  const packet = packetBytes(blockAlign);
  const full = Math.floor(stream.bytes / packet);
  const samples = full * packetSamples(packet) + packetSamples(stream.bytes - full * packet);
  return { codec: 'adpcm_ima_wav', sampleRate, channels, bitDepth: 4, duration: samples / sampleRate };
}

/** MP3 in WAV: the data cut by ffmpeg's mpegaudio parser, every frame it keeps decoded (no Xing or LAME trimming here). */
async function mp3(input: AudioInput, stream: WavStream): Promise<Omit<AudioFacts, 'mime'>> {
  const reader = new BlockReader(input.source);
  const firstBytes = await reader.bytes(stream.start, Math.min(stream.bytes, 4));
  const first = firstBytes.byteLength === 4 ? parseMpegHeader(u32be(firstBytes, 0)) : undefined;
  const { sampleRate, channels } = stream.format;
  if (!first || first.layer !== 3 || first.frameSize === 0 || first.sampleRate !== sampleRate || first.channels !== channels) {
    throw new DecoderNeeded(MIME, 'MP3 in WAV that does not start with a frame matching the fmt chunk');
  }
  const { frames } = await parseMpegStream(reader, stream.start, stream.start + stream.bytes, first, MIME);
  return { codec: 'mp3', sampleRate, channels, bitDepth: 32, duration: (frames * first.samplesPerFrame) / sampleRate };
}
