import { ProbeError } from '../../errors.js';
import { ascii, BlockReader, u16be, u24be, u32be } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { isId3v2, skipLeadingId3v2, trailingTagsStart } from './tags.js';

/**
 * MPEG-1/2/2.5 audio layers I-III (mp1, mp2, mp3), measured as ffmpeg's mp3 demuxer, parser and
 * decoder play them: the bytes are cut into packets as the mpegaudio parser cuts them and each
 * packet is kept or dropped as the decoder would; a Xing/Info or VBRI frame at the start is not
 * audio; a LAME tag's encoder delay and padding are trimmed. What only decoding could tell (a
 * change of stream parameters, trimming around packets the decoder drops) is left to ffmpeg.
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

/** ffmpeg's probe reads up to this much; files no longer than the head are probed whole. */
const WHOLE_FILE_PROBE = 64 * 1024;

/** The mp3 demuxer's extensions: no format ffmpeg picks by extension alone claims them. */
const MP3_EXTENSIONS = new Set(['', 'mp2', 'mp3', 'm2a', 'mpa']);

/**
 * Whether ffmpeg opens a file that starts with junk as MP3: its probe, given the whole file,
 * scores it 25 by mp3_read_probe's rule (at least four chained frames covering more than half
 * the bytes), which no other format beats on such data, unless the name has an extension some
 * demuxer is chosen by (AVPROBE_SCORE_EXTENSION, e.g. .bin). Only decided for files the head
 * holds whole (shorter than 64 KiB), where ffmpeg's last probe sees exactly these bytes.
 */
export function isMpegAudioAfterJunk(head: Uint8Array, extension: string): boolean {
  if (head.byteLength >= WHOLE_FILE_PROBE || !MP3_EXTENSIONS.has(extension)) return false;
  const end = head.byteLength - 4;
  let start = 0;
  while (start < end && head[start] === 0) start++;
  let maxFrames = 0;
  let maxBytes = 0;
  for (let b = start; b < end; ) {
    let next = b;
    let frames = 0;
    let bytes = 0;
    for (; next < end; frames++) {
      const header = parseMpegHeader(u32be(head, next));
      if (!header || header.frameSize === 0 || syncEmulations(head, next, header, end) > 2) break;
      bytes += header.frameSize;
      next += header.frameSize;
    }
    maxFrames = Math.max(maxFrames, frames);
    maxBytes = Math.max(maxBytes, bytes);
    b = next + 1;
  }
  return maxFrames >= 4 && head.byteLength < 2 * maxBytes;
}

/** mp3_read_probe: how many places inside the frame look like the start of a frame of the same stream. */
function syncEmulations(buf: Uint8Array, offset: number, header: MpegHeader, end: number): number {
  let count = 0;
  for (let i = offset + 4; i < offset + Math.min(header.frameSize, end - offset); i++) {
    if (((u32be(buf, i) ^ header.raw) & MP3_MASK) === 0) count++;
  }
  return count;
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
  if (await zeroFondProbesScore(input, size)) throw new DecoderNeeded(MIME, "ffmpeg's tiertexseq or adp probe may take the bytes after the tags for its format");
  if (tag && tag.bytes > size - leading.end) {
    throw new ProbeError('truncated', `the MPEG ${tagName(tag)} header declares ${tag.bytes} bytes, the file holds ${size - leading.end}`);
  }
  const declared = tag?.frames ? (tag.frames * tagFrame!.samplesPerFrame) / tagFrame!.sampleRate : undefined;
  // Tags at the end (ID3v1, APEv2) are junk after the last frame to ffmpeg's parser, which
  // decodes a frame that runs into them; so the parser is followed to the end of the file.
  const { header, stream } = await DecoderNeeded.declaring(declared, async () => {
    const start = await firstFrame(reader, audioStart, size, () => isInertAfterId3v2(input, leading.end, size));
    if (!MP3_EXTENSIONS.has(input.source.extension) && (await probedFirstFrames(input, size)) < MP3_PROBE_DECISIVE_FRAMES) {
      throw new DecoderNeeded(MIME, `few MPEG frames at the start, under a name (.${input.source.extension}) another demuxer may be chosen by`);
    }
    const stream = await parseMpegStream(reader, start.offset, size, start.header, MIME);
    // Junk at the start and more later: the bytes may be another format with look-alike frames (ffmpeg's probe decides).
    if (start.offset !== audioStart && stream.irregular.length > 0) throw new DecoderNeeded(MIME, `MPEG frames after junk at byte ${audioStart}, and junk again later`);
    return { header: start.header, stream };
  });
  const samples = decodedSamples(stream, header.samplesPerFrame, checkedTag(tag, stream.parsed, size - leading.end));
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

/** mp3dec.c's MP3_MASK: what two frames must share to start a stream (sync, version, layer, rate, emphasis, ...). */
const MP3_MASK = 0xfffe0ccf;
/** How far mp3dec.c looks for the first frame. */
const JUNK_SEARCH = 64 * 1024;

/**
 * The first frame ffmpeg plays, found as mp3_read_header finds it: at `offset`, or after junk,
 * the first frame whose successor is a frame of the same stream. ffmpeg gives up (cannot open
 * the file) when a frame's successor, or the next header it tries, lies past the end of the file;
 * here only where the bytes are MP3 for sure (see `surelyMp3`), else the decoder decides.
 */
async function firstFrame(reader: BlockReader, offset: number, size: number, surelyMp3: () => Promise<boolean>): Promise<{ offset: number; header: MpegHeader }> {
  if (offset >= size) throw new ProbeError('no_audio_stream', 'tags and no MPEG audio frames');
  const scan = await scanForFramePair(reader, offset, size);
  if (scan.found) return scan.found;
  // The search fails the open; after junk, only where ffmpeg surely opens the bytes as MP3.
  if (scan.failedAt === undefined || (scan.failedAt !== offset && !(await surelyMp3()))) {
    throw new DecoderNeeded(MIME, `no run of MPEG audio frames after byte ${offset}`);
  }
  if (scan.frameTooLong) throw new ProbeError('truncated', scan.frameTooLong);
  // A frame right after the tags that is the file's last: ffmpeg opens it as MP3 and fails.
  if (scan.failedAt === offset) throw new ProbeError('corrupt_file', `the MPEG frame at byte ${offset} is the only one in the file: ffmpeg finds no stream`);
  throw new ProbeError('corrupt_file', `no pair of MPEG audio frames after byte ${offset} before the end of the file: ffmpeg's mp3 demuxer cannot open it`);
}

interface FramePairScan {
  found?: { offset: number; header: MpegHeader };
  /** Where the scan met the end of the file (ffmpeg: "Could not seek", EINVAL). */
  failedAt?: number;
  /** A frame that runs past the end of the file, described. */
  frameTooLong?: string;
}

/**
 * mp3_read_header's search, byte by byte over JUNK_SEARCH offsets: a valid header (not free
 * format) whose successor is a header of the same stream (MP3_MASK) starts the stream. Reading
 * past the end, for the header tried or for a valid header's successor, fails the open. A scan
 * that meets neither leaves ffmpeg at `offset` (none of the three fields set).
 */
async function scanForFramePair(reader: BlockReader, offset: number, size: number): Promise<FramePairScan> {
  const window = await reader.bytes(offset, JUNK_SEARCH + 4);
  for (let i = 0; i < JUNK_SEARCH; i++) {
    if (offset + i + 4 > size) return { failedAt: offset + i };
    const header = parseMpegHeader(u32be(window, i));
    if (!header || header.frameSize === 0) continue;
    const next = offset + i + header.frameSize;
    if (next > size) return { failedAt: offset + i, frameTooLong: `the MPEG frame at byte ${offset + i} declares ${header.frameSize} bytes, the file holds ${size - offset - i}` };
    if (next + 4 > size) return { failedAt: offset + i };
    const following = parseMpegHeader(u32be(await reader.bytes(next, 4), 0));
    if (following && following.frameSize > 0 && ((following.raw ^ header.raw) & MP3_MASK) === 0) return { found: { offset: offset + i, header } };
  }
  return {};
}

/**
 * Whether ffmpeg surely opens the file with its mp3 demuxer, so that its failure to find a
 * stream is the answer: an ID3v2 tag at the start and one of the mp3 demuxer's extensions give
 * it a score no other demuxer reaches on what follows when that is inert, i.e. zero bytes, MPEG
 * frames that chain to nothing, and tags at the end (ID3v1, APEv2, Lyrics3): bytes in which no
 * other format's probe finds a stream it could play. A name without an extension gets no such
 * score, and anything else in the bytes may be another format (AAC, AC-3, DTS ...) ffmpeg reads.
 */
async function isInertAfterId3v2(input: AudioInput, tagsEnd: number, size: number): Promise<boolean> {
  if (tagsEnd === 0 || !MP3_EXTENSIONS.has(input.source.extension) || input.source.extension === '') return false;
  const end = await trailingTagsStart(input.source, tagsEnd, size);
  if (end - tagsEnd > JUNK_SEARCH + 4) return false;
  const bytes = padded(await input.source.read(tagsEnd, end - tagsEnd));
  for (let i = 0; i < end - tagsEnd; ) {
    if (bytes[i] === 0) {
      i++;
      continue;
    }
    const header = i + 4 <= bytes.byteLength ? parseMpegHeader(u32be(bytes, i)) : undefined;
    if (!header || header.frameSize === 0) return false;
    i += header.frameSize;
  }
  return true;
}

/** ffmpeg's largest probe buffer (PROBE_BUF_MAX): the last, decisive round sees the file up to here. */
export const PROBE_BUF_MAX = 1 << 20;

/**
 * Two of ffmpeg's probes take mostly-zero bytes for their formats without any magic, scoring 25,
 * which beats the 24 (or 1) the mp3 demuxer has from its extension, or ties the 25 it gives junk
 * followed by frames: tiertexseq (256 zero bytes, then not two more) and adp (every 32nd byte
 * pair repeated, changing at least twice). Either one leaves the demuxer ffmpeg opens such
 * bytes with uncertain (tiertexseq fails on them, adp plays them as DTK ADPCM). They see the
 * last probe round's buffer (the file, up to 1 MiB) after the first ID3v2 tag, unless the tag
 * fills it; both need its first two byte pairs alike, which frames right there never are. The
 * mp3 probe outbids them where seven frames follow the zeros.
 */
async function zeroFondProbesScore(input: AudioInput, size: number): Promise<boolean> {
  const bufferEnd = Math.min(size, PROBE_BUF_MAX);
  const start = probedStart(input.head, bufferEnd);
  const first = await input.source.read(start, 4);
  if (first.byteLength < 4 || first[0] !== first[2] || first[1] !== first[3]) return false;
  const probed = await input.source.read(start, bufferEnd - start);
  return (tiertexSeqProbe(probed) || adpProbe(probed)) && mp3ProbeFirstFrames(probed) < MP3_PROBE_DECISIVE_FRAMES;
}

/** mp3_read_probe scores a run of this many frames from the first non-zero byte 51 (AVPROBE_SCORE_EXTENSION + 1). */
const MP3_PROBE_DECISIVE_FRAMES = 7;

/**
 * The run mp3_read_probe finds at the start of what ffmpeg's probes see. Under 7 frames it
 * scores 25 at most, and a demuxer that claims the file's extension (aac's 1, the 50 of one
 * without a probe, bin's 50) ties or beats it: such files were found to be no format, or
 * another, to ffprobe.
 */
async function probedFirstFrames(input: AudioInput, size: number): Promise<number> {
  const start = probedStart(input.head, Math.min(size, PROBE_BUF_MAX));
  return mp3ProbeFirstFrames(await input.source.read(start, WHOLE_FILE_PROBE));
}

/**
 * mp3_read_probe's run of frames from the first non-zero byte; seven or more score 51, which
 * neither zero-fond probe reaches.
 */
function mp3ProbeFirstFrames(b: Uint8Array): number {
  const end = b.byteLength - 4;
  let offset = 0;
  while (offset < end && b[offset] === 0) offset++;
  let frames = 0;
  for (; offset < end; frames++) {
    const header = parseMpegHeader(u32be(b, offset));
    if (!header || header.frameSize === 0 || syncEmulations(b, offset, header, end) > 2) break;
    offset += header.frameSize;
  }
  return frames;
}

/** av_probe_input_format3's ID3v2 rule: the probes see the bytes after the first tag when more than 16 follow it in the buffer. */
function probedStart(head: Uint8Array, bufferEnd: number): number {
  if (!isId3v2(head)) return 0;
  const length = 10 + ((head[6]! << 21) | (head[7]! << 14) | (head[8]! << 7) | head[9]!) + ((head[5]! & 0x10) !== 0 ? 10 : 0);
  return bufferEnd > length + 16 ? length : 0;
}

function tiertexSeqProbe(b: Uint8Array): boolean {
  return b.byteLength >= 258 && b.subarray(0, 256).every((byte) => byte === 0) && (b[256] !== 0 || b[257] !== 0);
}

function adpProbe(b: Uint8Array): boolean {
  if (b.byteLength < 32) return false;
  let changes = 0;
  let last = 0;
  for (let i = 0; i < b.byteLength - 3; i += 32) {
    if (b[i] !== b[i + 2] || b[i + 1] !== b[i + 3]) return false;
    if (b[i] !== last) changes++;
    last = b[i]!;
  }
  return changes > 1;
}

/** The frames ffmpeg's parser cuts from a stream of MPEG audio, and which of them the decoder drops. */
export interface MpegStream {
  /** Frames the parser cuts (packets ending in a frame), decoded or not. */
  parsed: number;
  /** Frames the decoder outputs, each header.samplesPerFrame samples. */
  frames: number;
  /** Indices (among the parsed frames) of those that follow junk or that the decoder drops. */
  irregular: number[];
}

const sameLayout = (a: MpegHeader, b: MpegHeader) => a.sampleRate === b.sampleRate && a.channels === b.channels;

/**
 * Streams joined from files of different sample rates or channel counts have no one answer:
 * ffprobe names the first frames' layout, its decoded frames are counted at the last one, and
 * ffmpeg plays each part at its own rate (resampled), so no set of SPEC values describes them.
 * Two decoded frames in a row in the new layout make a join; a lone frame is the decoder's business.
 */
function refuseLayoutChange(first: MpegHeader, changed: { header: MpegHeader; offset: number }): never {
  const { header, offset } = changed;
  if (header.sampleRate !== first.sampleRate) {
    throw new ProbeError('corrupt_file', `the MPEG audio sample rate changes at byte ${offset} (${first.sampleRate} Hz to ${header.sampleRate} Hz)`);
  }
  throw new ProbeError('corrupt_file', `the MPEG audio channel count changes at byte ${offset} (${first.channels} to ${header.channels})`);
}

/**
 * ffmpeg's mpegaudio parser over [start, end) and its decoder's verdict on each packet. The
 * parser cuts a packet at the end of each frame it finds (scanning byte by byte for a valid
 * header, then taking the frame's length whatever it holds); a packet is the junk before a
 * frame plus the frame. The decoder skips leading zero bytes and drops a packet that then does
 * not start with a header, and a layer III frame whose side information it rejects. A frame cut
 * by the end is still decoded. Frames that go on at another sample rate or channel count are
 * refused; a lone such frame, or one that changes the version or layer, is left to the decoder. `onFrame` hears where each packet ends and whether it decodes.
 */
export async function parseMpegStream(
  reader: BlockReader,
  start: number,
  end: number,
  first: MpegHeader,
  mime: string,
  onFrame?: (frameEnd: number, decoded: boolean) => void,
): Promise<MpegStream> {
  const stream: MpegStream = { parsed: 0, frames: 0, irregular: [] };
  let changed: { header: MpegHeader; offset: number } | undefined;
  for (let packet = start; packet + 4 <= end; stream.parsed++) {
    const found = await nextHeader(reader, packet, end);
    if (!found) break;
    const junk = found.offset - packet;
    const frame = await reader.bytes(found.offset, Math.min(SIDE_INFO_BYTES, end - found.offset));
    const decodes = (junk === 0 || (await allZero(reader, packet, junk))) && layer3SideInfoValid(frame, found.header);
    if (junk > 0 || !decodes) stream.irregular.push(stream.parsed);
    if (decodes) {
      if (changed) {
        if (sameLayout(found.header, changed.header)) refuseLayoutChange(first, changed);
        throw new DecoderNeeded(mime, `MPEG frame of another layout at byte ${changed.offset}`);
      }
      if (!sameLayout(found.header, first)) changed = found;
      else if (((found.header.raw ^ first.raw) & SAME_HEADER_MASK) !== 0) throw new DecoderNeeded(mime, `MPEG stream parameters change at byte ${found.offset}`);
      stream.frames++;
    }
    packet = found.offset + found.header.frameSize;
    onFrame?.(packet, decodes);
  }
  if (changed) throw new DecoderNeeded(mime, `MPEG frame of another layout at byte ${changed.offset}`);
  return stream;
}

/** The first offset in [from, end - 4] where a valid header (not free format) starts. */
async function nextHeader(reader: BlockReader, from: number, end: number): Promise<{ offset: number; header: MpegHeader } | undefined> {
  const chunk = 1 << 16;
  for (let start = from; start + 4 <= end; start += chunk) {
    const bytes = await reader.bytes(start, Math.min(chunk + 3, end - start));
    for (let i = 0; i + 4 <= bytes.byteLength; i++) {
      if (bytes[i] !== 0xff) continue;
      const header = parseMpegHeader(u32be(bytes, i));
      if (header && header.frameSize > 0) return { offset: start + i, header };
    }
  }
  return undefined;
}

async function allZero(reader: BlockReader, offset: number, length: number): Promise<boolean> {
  return (await reader.bytes(offset, length)).every((byte) => byte === 0);
}

/** Header, CRC and the longest layer III side information (MPEG-1 stereo). */
const SIDE_INFO_BYTES = 4 + 2 + 32;

/**
 * mp_decode_layer3's side-information checks, which fail the frame: big_values over 288, or a
 * block split with block type 0. Bits past the frame's end read as zeros (the decoder's padding).
 */
export function layer3SideInfoValid(frame: Uint8Array, header: MpegHeader): boolean {
  if (header.layer !== 3) return true;
  let bit = (((header.raw >> 16) & 1) === 0 ? 6 : 4) * 8;
  const read = (n: number) => {
    let value = 0;
    for (let i = 0; i < n; i++, bit++) value = value * 2 + (((frame[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1);
    return value;
  };
  const channels = header.channels;
  const granules = header.lsf ? 1 : 2;
  bit += header.lsf ? 8 + channels : 9 + (channels === 1 ? 5 : 3) + 4 * channels;
  for (let granule = 0; granule < granules; granule++) {
    for (let channel = 0; channel < channels; channel++) {
      read(12); // part2_3_length
      if (read(9) > 288) return false; // big_values
      read(8 + (header.lsf ? 9 : 4)); // global_gain, scalefac_compress
      if (read(1) === 1) {
        if (read(2) === 0) return false; // a block split needs a block type
        bit += 20; // switch point, table selects, subblock gains
      } else bit += 22; // table selects, region counts
      bit += header.lsf ? 2 : 3; // preflag (MPEG-1), scalefac_scale, count1table_select
    }
  }
  return true;
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
 * Samples the decoder outputs: the decoded frames, less the encoder delay (+529, the decoder's
 * own delay) at the start and, within the tag's frame count, the padding at the end (mp3dec.c's
 * start_skip_samples and first/last_discard_sample). ffmpeg places the padding by the parsed
 * packets' positions and drops it with the packet it falls on; so packets that follow junk or
 * that the decoder drops are measured only where that cannot move or lose the trimming: after
 * a first frame that decodes, and before the padding.
 */
function decodedSamples(stream: MpegStream, samplesPerFrame: number, tag: InfoTag | undefined): number {
  const output = stream.frames * samplesPerFrame;
  if (!tag?.delay) return output;
  const startSkip = Math.min(output, tag.delay.start + 529);
  const positions = stream.parsed * samplesPerFrame;
  const tagEnd = tag.frames * samplesPerFrame;
  const discardFrom = tag.frames ? Math.max(startSkip, tagEnd - tag.delay.end + 529) : Infinity;
  const apart = (k: number) => k > 0 && ((k + 1) * samplesPerFrame < discardFrom || k * samplesPerFrame >= tagEnd);
  if (!stream.irregular.every(apart)) throw new DecoderNeeded(MIME, 'MPEG frames resume after junk where the LAME tag trims');
  if (!tag.frames) return output - startSkip;
  return output - startSkip - Math.max(0, Math.min(positions, tagEnd) - discardFrom);
}
