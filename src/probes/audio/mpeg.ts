import { ProbeError } from '../../errors.js';
import { ascii, BlockReader, u16be, u24be, u32be } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { countFrames, type FrameSyntax } from './frames.js';
import { skipLeadingId3v2 } from './tags.js';

/**
 * MPEG-1/2/2.5 audio layers I-III (mp1, mp2, mp3), measured as ffmpeg's mp3 demuxer, parser and
 * decoder play them: every frame in the file is walked and counted; a Xing/Info or VBRI frame at
 * the start is not audio; a LAME tag's encoder delay and padding are trimmed. Anything the
 * parser would handle by resyncing (junk between frames, a change of stream parameters) is left
 * to the decoder itself.
 */

const MIME = 'audio/mpeg';

/** Bits ffmpeg's parser requires to stay the same (sync, version, layer, sample rate). */
const SAME_HEADER_MASK = 0xffe00000 | (3 << 19) | (3 << 17) | (3 << 10);

const BITRATES = [
  [
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  [
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
];
const RATES = [44100, 48000, 32000];

export interface MpegHeader {
  raw: number;
  layer: 1 | 2 | 3;
  /** MPEG-2 and 2.5 ("low sampling frequency"). */
  lsf: boolean;
  sampleRate: number;
  channels: number;
  /** Bytes in the frame; 0 for free-format frames. */
  frameSize: number;
  samplesPerFrame: number;
}

/** ffmpeg's ff_mpa_check_header + avpriv_mpegaudio_decode_header. */
export function parseMpegHeader(raw: number): MpegHeader | undefined {
  if ((raw & 0xffe00000) >>> 0 !== 0xffe00000) return undefined;
  const versionBits = (raw >> 19) & 3;
  const layerBits = (raw >> 17) & 3;
  const bitrateIndex = (raw >> 12) & 15;
  const rateIndex = (raw >> 10) & 3;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const lsf = versionBits !== 3;
  const sampleRate = RATES[rateIndex]! >> ((lsf ? 1 : 0) + (versionBits === 0 ? 1 : 0));
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const padding = (raw >> 9) & 1;
  const kbps = BITRATES[lsf ? 1 : 0]![layer - 1]![bitrateIndex]!;
  const frameSize =
    kbps === 0 ? 0 :
    layer === 1 ? (Math.floor((kbps * 12000) / sampleRate) + padding) * 4 :
    layer === 2 ? Math.floor((kbps * 144000) / sampleRate) + padding :
    Math.floor((kbps * 144000) / (sampleRate << (lsf ? 1 : 0))) + padding;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && lsf ? 576 : 1152;
  return { raw, layer, lsf, sampleRate, channels: ((raw >> 6) & 3) === 3 ? 1 : 2, frameSize, samplesPerFrame };
}

export function isMpegAudioAt(bytes: Uint8Array, offset: number): boolean {
  return offset + 4 <= bytes.byteLength && parseMpegHeader(u32be(bytes, offset)) !== undefined;
}

/** What a Xing/Info or VBRI frame at the start declares. */
interface InfoTag {
  kind: 'xing' | 'vbri';
  frames: number;
  bytes: number;
  /** LAME (or Lavf/Lavc) encoder delay and padding, in samples; undefined without such a tag. */
  delay?: { start: number; end: number };
}

export async function readMpeg(input: AudioInput): Promise<AudioFacts> {
  const leading = await skipLeadingId3v2(input.source, input.head);
  if (leading.footer) throw new DecoderNeeded(MIME, 'ID3v2 tag with a footer before the MPEG frames');
  const reader = new BlockReader(input.source);
  const tagFrame = parseMpegHeader(u32be(padded(await reader.bytes(leading.end, 4)), 0));
  const tag = tagFrame?.layer === 3 && tagFrame.frameSize > 0 ? parseInfoTag(await reader.bytes(leading.end, tagFrame.frameSize), tagFrame) : undefined;
  const audioStart = tag ? leading.end + tagFrame!.frameSize : leading.end;
  const size = await input.size();
  if (tag && tag.bytes > size - leading.end) {
    throw new ProbeError('truncated', `the MPEG ${tagName(tag)} header declares ${tag.bytes} bytes, the file holds ${size - leading.end}`);
  }
  const declared = tag?.frames ? (tag.frames * tagFrame!.samplesPerFrame) / tagFrame!.sampleRate : undefined;
  // Tags at the end (ID3v1, APEv2) are junk after the last frame to ffmpeg's parser, which
  // decodes a frame that runs into them; so frames are walked to the end of the file.
  const { start, frames } = await DecoderNeeded.declaring(declared, async () => {
    const start = await firstFrame(reader, audioStart);
    return { start, frames: await countFrames(reader, start.offset, size, mpegFrames(start.header)) };
  });
  const { header } = start;
  const samples = decodedSamples(frames, header.samplesPerFrame, checkedTag(tag, frames, size - leading.end));
  return {
    mime: MIME,
    codec: `mp${header.layer}`,
    sampleRate: header.sampleRate,
    channels: header.channels,
    bitDepth: 32, // ffmpeg's MPEG audio decoders output float
    duration: samples / header.sampleRate,
  };
}

const padded = (bytes: Uint8Array) => (bytes.byteLength >= 4 ? bytes : Uint8Array.of(...bytes, 0, 0, 0, 0));

/** Xing/Info (after the side information) or VBRI (at byte 36) in the first frame, as mp3dec.c reads them. */
function parseInfoTag(frame: Uint8Array, header: MpegHeader): InfoTag | undefined {
  const xingOffset = 4 + (header.lsf ? (header.channels === 1 ? 9 : 17) : header.channels === 1 ? 17 : 32);
  const magic = ascii(frame, xingOffset);
  if (magic === 'Xing' || magic === 'Info') return parseXing(frame, xingOffset + 4);
  if (ascii(frame, 36) === 'VBRI' && frame.byteLength >= 54 && u16be(frame, 40) === 1) {
    const tag = { kind: 'vbri' as const, bytes: u32be(frame, 46), frames: u32be(frame, 50) };
    return tag.frames || tag.bytes ? tag : undefined;
  }
  return undefined;
}

function parseXing(frame: Uint8Array, offset: number): InfoTag | undefined {
  if (offset + 4 > frame.byteLength) return undefined;
  const flags = u32be(frame, offset);
  let p = offset + 4;
  const field = (flag: number, size: number) => {
    if (!(flags & flag)) return 0;
    const value = p + 4 <= frame.byteLength ? u32be(frame, p) : 0;
    p += size;
    return value;
  };
  const frames = field(1, 4);
  const bytes = field(2, 4);
  field(4, 100); // seek table
  field(8, 4); // quality
  if (!frames && !bytes) return undefined;
  const encoder = ascii(frame, p, 4);
  if (!['LAME', 'Lavf', 'Lavc'].includes(encoder) || p + 24 > frame.byteLength) return { kind: 'xing', frames, bytes };
  const pads = u24be(frame, p + 21);
  return { kind: 'xing', frames, bytes, delay: { start: pads >> 12, end: pads & 0xfff } };
}

/**
 * The first frame ffmpeg plays: at `offset`, or after junk, the first frame whose successor is
 * a frame of the same stream (mp3dec.c's search, up to 64 KiB). Without one, the bytes may be
 * another format ffmpeg recognises.
 */
async function firstFrame(reader: BlockReader, offset: number): Promise<{ offset: number; header: MpegHeader }> {
  const window = await reader.bytes(offset, 64 * 1024 + 4);
  if (window.byteLength === 0) throw new ProbeError('no_audio_stream', 'tags and no MPEG audio frames');
  for (let i = 0; i + 4 <= window.byteLength; i++) {
    const header = parseMpegHeader(u32be(window, i));
    if (!header || header.frameSize === 0) continue;
    const frame = await reader.bytes(offset + i, header.frameSize + 4);
    if (frame.byteLength < header.frameSize) {
      throw new ProbeError('truncated', `the MPEG frame at byte ${offset + i} declares ${header.frameSize} bytes, the file holds ${frame.byteLength}`);
    }
    const following = frame.byteLength >= header.frameSize + 4 ? parseMpegHeader(u32be(frame, header.frameSize)) : undefined;
    if (following && ((following.raw ^ header.raw) & 0xfffe0ccf) === 0) return { offset: offset + i, header };
    if (i === 0 && frame.byteLength === header.frameSize) throw new DecoderNeeded(MIME, 'a single MPEG frame');
  }
  throw new DecoderNeeded(MIME, `no run of MPEG audio frames after byte ${offset}`);
}

/** Frames of the stream `first` starts: ffmpeg's parser requires sync, version, layer and rate to stay. */
function mpegFrames(first: MpegHeader): FrameSyntax {
  return {
    name: 'MPEG',
    mime: MIME,
    headerBytes: 4,
    cutLastFrame: 'decoded',
    frameSize(bytes, offset) {
      const header = parseMpegHeader(u32be(bytes, offset));
      return header && header.frameSize > 0 && ((header.raw ^ first.raw) & SAME_HEADER_MASK) === 0 ? header.frameSize : undefined;
    },
  };
}

/**
 * The tag as ffmpeg applies it. A Xing frame count is ignored when the bytes from the tag frame
 * on are many more than the tag's byte count (mp3dec.c: "invalid concatenated file"); a frame or
 * byte count the file cannot hold is truncation.
 */
function checkedTag(tag: InfoTag | undefined, frames: number, streamBytes: number): InfoTag | undefined {
  if (!tag) return undefined;
  const afterHeader = streamBytes - 4; // mp3dec.c measures from after the tag frame's header
  if (tag.kind === 'xing' && tag.bytes && afterHeader - tag.bytes > tag.bytes / 16) return { ...tag, frames: 0 };
  if (tag.frames > frames) throw new ProbeError('truncated', `the MPEG ${tagName(tag)} header declares ${tag.frames} frames, the file holds ${frames}`);
  return tag;
}

const tagName = (tag: InfoTag) => (tag.kind === 'vbri' ? 'VBRI' : 'Xing/Info');

/**
 * Samples the decoder outputs: all frames, less the encoder delay (+529, the decoder's own
 * delay) at the start and, within the tag's frame count, the padding at the end (mp3dec.c's
 * start_skip_samples and first/last_discard_sample).
 */
function decodedSamples(frames: number, samplesPerFrame: number, tag: InfoTag | undefined): number {
  const total = frames * samplesPerFrame;
  if (!tag?.delay) return total;
  const startSkip = Math.min(total, tag.delay.start + 529);
  if (!tag.frames) return total - startSkip;
  const discardFrom = Math.max(startSkip, tag.frames * samplesPerFrame - tag.delay.end + 529);
  const discardTo = Math.min(total, tag.frames * samplesPerFrame);
  return total - startSkip - Math.max(0, discardTo - discardFrom);
}
