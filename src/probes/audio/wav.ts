import { ProbeError } from '../../errors.js';
import { ascii, readExactly, startsWith, u16le, u32le, u64 } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { checkStreamShape, G711, linearPcm, pcmDuration, type PcmLayout } from './pcm.js';

/**
 * RIFF WAVE, RF64/BW64 and Sony Wave64, read as ffmpeg's wav demuxer reads them: the first `fmt `
 * and `data` chunks; a data size of 0 or 0xFFFFFFFF means "to the end of the file". PCM, float
 * and G.711 are measured here; any other codec inside is left to the decoder.
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
  const format = parseFmt(await readExactly(input.source, fmt.body, Math.min(fmt.size, 64), 'WAV fmt chunk'), fmt.size);
  const dataBytes = await dataSize(input, layout, data, size);
  return {
    mime: MIME,
    codec: format.pcm.codec,
    sampleRate: format.sampleRate,
    channels: format.channels,
    bitDepth: format.pcm.bitDepth,
    duration: pcmDuration(dataBytes, format.pcm, format.channels, format.sampleRate),
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
  channels: number;
  sampleRate: number;
  pcm: PcmLayout;
}

const EXTENSIBLE = 0xfffe;
/** KSDATAFORMAT_SUBTYPE GUIDs: the format tag followed by this suffix. */
const SUBTYPE_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/** WAVEFORMAT(EX/EXTENSIBLE) as ffmpeg's ff_get_wav_header reads it. */
function parseFmt(fmt: Uint8Array, declared: number): WaveFormat {
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
  const pcm = pcmLayout(tag, bits);
  // ffmpeg sizes PCM samples by the codec, not by blockAlign; when the two disagree (24-bit
  // samples in 4-byte slots) its reading is its own, so let it decode.
  if (blockAlign !== 0 && blockAlign !== pcm.sampleBytes * channels) {
    throw new DecoderNeeded(MIME, `WAV block align ${blockAlign} does not match ${channels} x ${pcm.sampleBytes}-byte samples`);
  }
  return { channels, sampleRate, pcm };
}

function pcmLayout(tag: number, bits: number): PcmLayout {
  const layout =
    tag === 1 ? linearPcm(bits, false) :
    tag === 3 ? linearPcm(bits, true) :
    tag === 6 && bits === 8 ? G711.alaw :
    tag === 7 && bits === 8 ? G711.mulaw :
    undefined;
  if (!layout) throw new DecoderNeeded(MIME, `WAV format tag 0x${tag.toString(16)} with ${bits} bits per sample`);
  return layout;
}
