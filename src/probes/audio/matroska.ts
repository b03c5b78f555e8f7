import { ProbeError } from '../../errors.js';
import { childElements, EbmlError, readDocType, readFloat, readHeaderElement, readUint, type EbmlElement } from '../containers/matroska.js';
import { isIntact, parseSyncFrame, sameLayout, type SyncFrame } from './ac3.js';
import { BufferSource } from '../../sources/buffer.js';
import { ascii, BlockReader, startsWith, u16be, u16le, u32be } from './bytes.js';
import { alacConfigProblem, alacPacketSamples, parseAlacConfig } from './alac.js';
import { hasLibfaacMarker, settledLayout, type DecodedLayout } from './aac-sbr.js';
import { parseAacConfig } from './codec.js';
import { crc16 } from './crc.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { parseFrameHeader, parseStreamInfo, STREAMINFO_SIZE } from './flac.js';
import { containerMime } from './mime.js';
import { parseMpegHeader, parseMpegStream, type MpegHeader } from './mpeg.js';
import { opusPacketSamples } from './ogg.js';

/**
 * Matroska and WebM audio, as ffmpeg's matroska demuxer and decoders play it: every block of the
 * first audio track is walked and its frames counted by their own headers, less what the decoder
 * drops (the Opus pre-skip at the start, DiscardPadding at the end of a block). Only codecs whose
 * packets are proven to decode are measured: Opus (framing the decoder accepts; its decoders
 * conceal damage inside frames), AC-3/E-AC-3 and FLAC (CRC-checked frames), PCM, MP3 (cut into
 * frames by ffmpeg's parser as a raw MP3 is), AAC-LC (1024 samples a frame, as in MP4; 2048 at twice
 * the rate once the first frame turns SBR on), ALAC (each packet's bitstream walked as the
 * decoder parses it). Other codecs (a damaged Vorbis
 * packet is dropped by the decoder), compressed tracks, and structure the walk cannot follow
 * exactly as ffmpeg does (elements past their parent, unknown IDs, blocks before the tracks)
 * are left to ffprobe.
 */

const ID = {
  header: 0x1a45dfa3,
  segment: 0x18538067,
  info: 0x1549a966,
  tracks: 0x1654ae6b,
  cluster: 0x1f43b675,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  codecDelay: 0x56aa,
  contentEncodings: 0x6d80,
  audio: 0xe1,
  samplingFrequency: 0xb5,
  channels: 0x9f,
  bitDepth: 0x6264,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
  discardPadding: 0x75a2,
};

const VOID_OR_CRC = [0xec, 0xbf];
/** Level-1 elements: in a cluster of unknown size, one of these ends it. */
const LEVEL_ONE = new Set([ID.cluster, ID.info, ID.tracks, 0x114d9b74, 0x1c53bb6b, 0x1254c367, 0x1043a770, 0x1941a469]);
/**
 * Cluster children ffmpeg knows (Timestamp, Position, PrevSize, SilentTracks, EncryptedBlock and
 * the blocks). Any other ID there or at level 1 is damage that ffmpeg may resync over, unlike us.
 */
const CLUSTER_CHILDREN = new Set([0xe7, 0xa7, 0xab, 0x5854, 0xaf, ID.simpleBlock, ID.blockGroup, ...VOID_OR_CRC]);
const SEGMENT_CHILDREN = new Set([...LEVEL_ONE, ...VOID_OR_CRC]);
const AUDIO_TRACK = 2;
/** Tracks, BlockGroups: masters read whole. */
const MAX_MASTER_BYTES = 16 * 1024 * 1024;
const ELEMENT_HEADER_BYTES = 12;

interface AudioTrack {
  number: number;
  /** The numbers of every track in the file. */
  allTracks: Set<number>;
  codecId: string;
  codecPrivate: Uint8Array;
  sampleRate: number;
  channels: number;
  bitDepth?: number;
  /** CodecDelay, ns. */
  codecDelay: number;
}

/** How one codec's packets decode. */
interface PacketCodec {
  facts: Omit<AudioFacts, 'mime' | 'duration'>;
  /** Samples the decoder outputs for one packet (frame of a block). */
  samples(packet: Uint8Array): number;
  /** Samples known only once every packet is seen (MP3: ffmpeg's parser runs over the whole stream). */
  afterLastPacket?(): Promise<number>;
  /** Takes the DiscardPadding (ns) of the packet just counted, for codecs that place it themselves. */
  padLastPacket?(nanoseconds: number): void;
  /** Samples dropped at the start (Opus pre-skip). */
  startSkip: number;
  /** Whether the decoder honours DiscardPadding (ffmpeg passes it on as skip side data for Opus). */
  discards: boolean;
  /** Whether what ffmpeg does with a CodecDelay is known (and in startSkip): for other codecs it is the decoder's business. */
  codecDelayKnown: boolean;
  /** Rate and channels a track may state besides the decoded ones (HE-AAC's core), which the decoder overrides. */
  alsoStated?: { sampleRate: number; channels: number };
}

export async function readMatroska(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime('matroska', input.head, input.detection)!;
  try {
    return await measure(input, mime);
  } catch (error) {
    if (error instanceof EbmlError) throw new DecoderNeeded(mime, `Matroska structure: ${error.message}`);
    throw error;
  }
}

async function measure(input: AudioInput, mime: string): Promise<AudioFacts> {
  const docType = readDocType(input.head);
  if (docType !== 'matroska' && docType !== 'webm') throw new DecoderNeeded(mime, `EBML DocType ${docType}`);
  const size = await input.size();
  const reader = new BlockReader(input.source);
  const header = await elementAt(reader, 0, size, mime);
  if (header.id !== ID.header || header.size === undefined) throw new ProbeError('corrupt_file', 'no EBML header');
  const segment = await elementAt(reader, header.dataStart + header.size, size, mime);
  if (segment.id !== ID.segment) throw new DecoderNeeded(mime, 'no Matroska Segment after the EBML header');
  const end = segment.size === undefined ? size : segment.dataStart + segment.size;
  let codec: PacketCodec | undefined;
  let track: AudioTrack | undefined;
  let total = 0;
  let discarded = 0;
  const onBlock = (block: Uint8Array, discardPadding: number) => {
    const frames = blockFrames(block, track!, mime);
    if (!frames) return;
    for (const frame of frames) total += codec!.samples(frame);
    if (discardPadding !== 0) {
      if (codec!.padLastPacket && discardPadding > 0 && frames.length === 1) return codec!.padLastPacket(discardPadding);
      if (!codec!.discards || discardPadding < 0) throw new DecoderNeeded(mime, `DiscardPadding on ${track!.codecId}`);
      // Converted at the decoding rate (48 kHz for Opus, whatever rate the track states).
      discarded += Math.round((discardPadding * codec!.facts.sampleRate) / 1e9);
    }
  };
  for (let offset = segment.dataStart; offset < end; ) {
    const element = await elementAt(reader, offset, end, mime);
    if (!SEGMENT_CHILDREN.has(element.id)) throw new DecoderNeeded(mime, `unknown Matroska element 0x${element.id.toString(16)} at byte ${offset}`);
    if (element.id === ID.tracks) {
      track = firstAudioTrack(await wholeData(reader, element, mime));
      if (!track) throw new ProbeError('no_audio_stream', 'the Matroska file has no audio track');
      codec = codecFor(track, mime);
      if (track.codecDelay !== 0 && !codec.codecDelayKnown) throw new DecoderNeeded(mime, `CodecDelay on ${track.codecId}`);
    } else if (element.id === ID.cluster) {
      if (!codec) throw new DecoderNeeded(mime, 'Matroska Cluster before the Tracks');
      offset = await walkCluster(reader, element, end, mime, onBlock);
      continue;
    }
    if (element.size === undefined) throw new DecoderNeeded(mime, `Matroska element 0x${element.id.toString(16)} of unknown size`);
    offset = element.dataStart + element.size;
  }
  if (codec?.afterLastPacket) total += await codec.afterLastPacket();
  if (!codec || total === 0) throw new DecoderNeeded(mime, 'no Matroska audio blocks');
  checkTrackAgrees(track!, codec, mime);
  const samples = total - codec.startSkip - discarded;
  if (samples <= 0) throw new DecoderNeeded(mime, `Matroska trims ${codec.startSkip + discarded} of ${total} samples`);
  return { mime, ...codec.facts, duration: samples / codec.facts.sampleRate };
}

/** The element header at `offset`; one that runs past `end` is the decoder's business (ffmpeg reads what there is). */
async function elementAt(reader: BlockReader, offset: number, end: number, mime: string): Promise<EbmlElement> {
  const element = readHeaderElement(await reader.bytes(offset, ELEMENT_HEADER_BYTES), 0);
  if (!element) throw new DecoderNeeded(mime, `Matroska element header cut at byte ${offset}`);
  const placed = { ...element, start: offset, dataStart: offset + element.dataStart };
  if (placed.size !== undefined && placed.dataStart + placed.size > end) {
    throw new DecoderNeeded(mime, `Matroska element 0x${element.id.toString(16)} at byte ${offset} runs past its parent`);
  }
  return placed;
}

async function wholeData(reader: BlockReader, element: EbmlElement, mime: string): Promise<Uint8Array> {
  if (element.size === undefined || element.size > MAX_MASTER_BYTES) throw new DecoderNeeded(mime, 'Matroska master element too large to read');
  return reader.bytes(element.dataStart, element.size);
}

/** Walks one cluster's blocks; returns where the next level-1 element starts. */
async function walkCluster(
  reader: BlockReader,
  cluster: EbmlElement,
  segmentEnd: number,
  mime: string,
  onBlock: (block: Uint8Array, discardPadding: number) => void,
): Promise<number> {
  const end = cluster.size === undefined ? segmentEnd : cluster.dataStart + cluster.size;
  let offset = cluster.dataStart;
  while (offset < end) {
    const child = await elementAt(reader, offset, end, mime);
    if (cluster.size === undefined && LEVEL_ONE.has(child.id)) return offset;
    if (!CLUSTER_CHILDREN.has(child.id)) throw new DecoderNeeded(mime, `unknown Matroska element 0x${child.id.toString(16)} at byte ${offset}`);
    if (child.size === undefined) throw new DecoderNeeded(mime, 'Matroska block element of unknown size');
    if (child.id === ID.simpleBlock) onBlock(await wholeData(reader, child, mime), 0);
    else if (child.id === ID.blockGroup) blockGroup(await wholeData(reader, child, mime), onBlock);
    offset = child.dataStart + child.size;
  }
  return end;
}

function blockGroup(data: Uint8Array, onBlock: (block: Uint8Array, discardPadding: number) => void): void {
  let block: Uint8Array | undefined;
  let discardPadding = 0;
  for (const child of childElements(data, 0, data.byteLength)) {
    const value = dataOf(data, child);
    if (child.id === ID.block) block = value;
    else if (child.id === ID.discardPadding) discardPadding = signedInt(value);
  }
  if (block) onBlock(block, discardPadding);
}

const dataOf = (bytes: Uint8Array, element: EbmlElement) => bytes.subarray(element.dataStart, element.dataStart + element.size!);

function signedInt(data: Uint8Array): number {
  if (data.byteLength === 0) return 0;
  const unsigned = readUint(data);
  return data[0]! & 0x80 ? unsigned - 2 ** (8 * data.byteLength) : unsigned;
}

/** The frames of a block of the audio track; undefined for other tracks. */
function blockFrames(block: Uint8Array, audio: AudioTrack, mime: string): Uint8Array[] | undefined {
  const track = vint(block, 0);
  if (!track) throw new EbmlError('block without a track number');
  // ffmpeg loses its way after a block of a track that does not exist.
  if (!audio.allTracks.has(track.value)) throw new DecoderNeeded(mime, `Matroska block of unknown track ${track.value}`);
  if (track.value !== audio.number) return undefined;
  let p = track.end + 2;
  const flags = block[p++];
  if (flags === undefined) throw new EbmlError('block header cut short');
  const lacing = (flags >> 1) & 3;
  if (lacing === 0) return [block.subarray(p)];
  const count = block[p++]! + 1;
  const sizes: number[] = [];
  if (lacing === 2) {
    const each = (block.byteLength - p) / count;
    if (!Number.isInteger(each)) throw new DecoderNeeded(mime, 'Matroska fixed-size lacing that does not divide the block');
    sizes.push(...new Array<number>(count - 1).fill(each));
  } else if (lacing === 1) {
    for (let i = 0; i < count - 1; i++) {
      let lace = 0;
      for (let byte = 255; byte === 255 && p < block.byteLength; lace += byte) byte = block[p++]!;
      sizes.push(lace);
    }
  } else {
    for (let i = 0; i < count - 1; i++) {
      const coded = vint(block, p);
      if (!coded) throw new EbmlError('EBML lace size cut short');
      const bias = i === 0 ? 0 : 2 ** (7 * (coded.end - p) - 1) - 1;
      sizes.push(i === 0 ? coded.value : sizes[i - 1]! + coded.value - bias);
      p = coded.end;
    }
  }
  const frames: Uint8Array[] = [];
  for (const laceSize of sizes) {
    if (laceSize < 0 || p + laceSize > block.byteLength) throw new DecoderNeeded(mime, 'Matroska lace sizes past the block');
    frames.push(block.subarray(p, (p += laceSize)));
  }
  frames.push(block.subarray(p));
  return frames;
}

/** An EBML variable-length unsigned integer (marker bit stripped). */
function vint(bytes: Uint8Array, offset: number): { value: number; end: number } | undefined {
  const first = bytes[offset];
  if (!first) return undefined;
  const length = Math.clz32(first) - 23;
  if (offset + length > bytes.byteLength) return undefined;
  let value = first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + bytes[offset + i]!;
  return { value, end: offset + length };
}

function firstAudioTrack(tracks: Uint8Array): AudioTrack | undefined {
  const entries = childElements(tracks, 0, tracks.byteLength)
    .filter((entry) => entry.id === ID.trackEntry)
    .map((entry) => new Map(childElements(tracks, entry.dataStart, entry.dataStart + entry.size!).map((child) => [child.id, dataOf(tracks, child)])));
  const allTracks = new Set(entries.map((fields) => readUint(fields.get(ID.trackNumber) ?? new Uint8Array())));
  for (const fields of entries) {
    if (readUint(fields.get(ID.trackType) ?? new Uint8Array()) !== AUDIO_TRACK) continue;
    const audioData = fields.get(ID.audio) ?? new Uint8Array();
    const audio = new Map(childElements(audioData, 0, audioData.byteLength).map((child) => [child.id, dataOf(audioData, child)]));
    const rate = audio.get(ID.samplingFrequency);
    const depth = audio.get(ID.bitDepth);
    if (fields.has(ID.contentEncodings)) throw new EbmlError('the audio track is compressed or encrypted (ContentEncodings)');
    return {
      number: readUint(fields.get(ID.trackNumber) ?? new Uint8Array()),
      allTracks,
      codecId: ascii(fields.get(ID.codecId) ?? new Uint8Array(), 0, 64).replace(/\0+$/, ''),
      codecPrivate: fields.get(ID.codecPrivate) ?? new Uint8Array(),
      sampleRate: rate ? readFloat(rate) : 8000,
      channels: audio.has(ID.channels) ? readUint(audio.get(ID.channels)!) : 1,
      bitDepth: depth ? readUint(depth) : undefined,
      codecDelay: fields.has(ID.codecDelay) ? readUint(fields.get(ID.codecDelay)!) : 0,
    };
  }
  return undefined;
}

/** A track whose stated rate or channels its codec contradicts is the decoder's business (which one wins is its choice). */
function checkTrackAgrees(track: AudioTrack, codec: PacketCodec, mime: string): void {
  // Opus always decodes at 48 kHz; muxers state the encoder's input rate there too.
  const rateAgrees = track.sampleRate === codec.facts.sampleRate || codec.facts.codec === 'opus' || track.sampleRate === codec.alsoStated?.sampleRate;
  const channelsAgree = track.channels === codec.facts.channels || track.channels === codec.alsoStated?.channels;
  if (!rateAgrees || !channelsAgree) {
    throw new DecoderNeeded(mime, `Matroska ${track.codecId} track says ${track.sampleRate} Hz, ${track.channels} channels; its codec ${codec.facts.sampleRate} Hz, ${codec.facts.channels}`);
  }
}

function codecFor(track: AudioTrack, mime: string): PacketCodec {
  const id = track.codecId;
  if (id === 'A_OPUS') return opusCodec(track, mime);
  if (id === 'A_AC3' || id === 'A_EAC3') return ac3Codec(track, mime);
  if (id === 'A_FLAC') return flacCodec(track, mime);
  if (id.startsWith('A_PCM/')) return pcmCodec(track, mime);
  if (id === 'A_MPEG/L3') return mp3Codec(track, mime);
  if (id === 'A_AAC') return aacCodec(track, mime);
  if (id === 'A_ALAC') return alacCodec(track, mime);
  // Others (Vorbis, ...) have no checksum that proves a packet decodes, or decoders that trim by rules of their own.
  throw new DecoderNeeded(mime, `Matroska codec ${id}`);
}

const lossy = (codec: string, sampleRate: number, channels: number) => ({ codec, sampleRate, channels, bitDepth: 32 }); // float decoders

function opusCodec(track: AudioTrack, mime: string): PacketCodec {
  const head = track.codecPrivate;
  if (head.byteLength < 19 || !startsWith(head, 'OpusHead')) throw new DecoderNeeded(mime, 'Matroska Opus without an OpusHead');
  // Mapping family 0 holds one stream per packet; in multistream packets every stream's framing counts.
  if (head[18] !== 0) throw new DecoderNeeded(mime, `Opus channel mapping family ${head[18]}`);
  const preSkip = u16le(head, 10);
  // The decoder skips the OpusHead pre-skip, with or without a CodecDelay; a CodecDelay that says otherwise is its business.
  if (track.codecDelay !== 0 && Math.round((track.codecDelay * 48000) / 1e9) !== preSkip) throw new DecoderNeeded(mime, `Opus CodecDelay ${track.codecDelay} ns and pre-skip ${preSkip} disagree`);
  return {
    facts: lossy('opus', 48000, head[9]!),
    samples: (packet) => checkedOpusSamples(packet, mime),
    startSkip: preSkip,
    discards: true,
    codecDelayKnown: true,
  };
}

/** Samples of an Opus packet whose framing (RFC 6716 §3.2) ffmpeg's parser accepts; other packets the decoder drops. */
function checkedOpusSamples(packet: Uint8Array, mime: string): number {
  const samples = packet.byteLength > 0 ? opusPacketSamples(packet) : 0;
  if (samples === 0 || samples > 5760 || !opusFramingValid(packet)) throw new DecoderNeeded(mime, 'an Opus packet the decoder may reject');
  return samples;
}

const MAX_OPUS_FRAME = 1275;

/** ff_opus_parse_packet's checks: frame lengths that fit the packet, none over 1275 bytes. */
function opusFramingValid(packet: Uint8Array): boolean {
  const code = packet[0]! & 3;
  const rest = packet.byteLength - 1;
  if (code === 0) return rest <= MAX_OPUS_FRAME;
  if (code === 1) return rest % 2 === 0 && rest / 2 <= MAX_OPUS_FRAME;
  if (code === 2) {
    const first = opusLength(packet, 1);
    return first !== undefined && first.value <= packet.byteLength - first.end && packet.byteLength - first.end - first.value <= MAX_OPUS_FRAME;
  }
  const header = packet[1];
  if (header === undefined || (header & 0x3f) === 0) return false;
  const count = header & 0x3f;
  let p = 2;
  let padding = 0;
  if (header & 0x40) {
    for (let byte = 255; byte === 255; ) {
      byte = packet[p++] ?? -1;
      if (byte < 0) return false;
      padding += byte === 255 ? 254 : byte;
    }
  }
  let left = packet.byteLength - p - padding;
  if (left < 0) return false;
  if (!(header & 0x80)) return left % count === 0 && left / count <= MAX_OPUS_FRAME;
  for (let i = 0; i < count - 1; i++) {
    const size = opusLength(packet, p);
    if (!size || size.value > MAX_OPUS_FRAME) return false;
    left -= size.end - p + size.value;
    p = size.end;
    if (left < 0) return false;
  }
  return left <= MAX_OPUS_FRAME;
}

/** An Opus frame length: one byte below 252, else two (RFC 6716 §3.1). */
function opusLength(packet: Uint8Array, p: number): { value: number; end: number } | undefined {
  const first = packet[p];
  if (first === undefined) return undefined;
  if (first < 252) return { value: first, end: p + 1 };
  const second = packet[p + 1];
  return second === undefined ? undefined : { value: first + 4 * second, end: p + 2 };
}

/** AC-3 and E-AC-3: the sync frames of each packet, each intact and of one layout. */
function ac3Codec(track: AudioTrack, mime: string): PacketCodec {
  let layout: SyncFrame | undefined;
  const samples = (packet: Uint8Array) => {
    let total = 0;
    for (let p = 0; p < packet.byteLength; ) {
      const frame = parseSyncFrame(packet.subarray(p), mime);
      if (!frame || p + frame.size > packet.byteLength || !isIntact(packet.subarray(p, p + frame.size))) {
        throw new DecoderNeeded(mime, 'a Matroska AC-3 packet that is not whole, intact sync frames');
      }
      layout ??= frame;
      if (!sameLayout(frame, layout)) throw new DecoderNeeded(mime, 'Matroska AC-3 stream changes layout');
      total += frame.samples;
      p += frame.size;
    }
    return total;
  };
  // Rate and channels come from the frames, read before the facts are used (a track without blocks goes to the decoder).
  return {
    get facts() {
      return lossy(layout?.codec ?? 'ac3', layout?.sampleRate ?? 0, layout?.channels ?? 0);
    },
    samples,
    startSkip: 0,
    discards: false,
    // ffmpeg (5.1) notes an AC-3 CodecDelay as initial padding, which neither it nor the decoder trims.
    codecDelayKnown: true,
  };
}

function flacCodec(track: AudioTrack, mime: string): PacketCodec {
  const data = track.codecPrivate;
  if (!startsWith(data, 'fLaC') || data.byteLength < 8 + STREAMINFO_SIZE || (data[4]! & 0x7f) !== 0) {
    throw new DecoderNeeded(mime, 'Matroska FLAC without its STREAMINFO');
  }
  const info = parseStreamInfo(data.subarray(8, 8 + STREAMINFO_SIZE));
  return {
    facts: { codec: 'flac', sampleRate: info.sampleRate, channels: info.channels, bitDepth: info.bitsPerSample },
    samples(packet) {
      const header = parseFrameHeader(packet, 0, info);
      if (!header || packet.byteLength < 8 || crc16(packet.subarray(0, -2)) !== u16be(packet, packet.byteLength - 2)) {
        throw new DecoderNeeded(mime, 'a Matroska FLAC packet that is not one intact frame');
      }
      return header.blockSize;
    },
    startSkip: 0,
    discards: false,
    codecDelayKnown: false,
  };
}

/**
 * AAC with its AudioSpecificConfig in CodecPrivate: no parser, each frame of a block is one raw
 * AAC frame (as in MP4). Where the config leaves SBR open (AAC-LC at 24 kHz or less), the frame
 * the decoder meets first, the track's first, settles it as in MP4 (aac-sbr.ts settledLayout):
 * with SBR on, 2048 samples a frame at twice the core rate. libfaac's first frame, which the
 * decoder drops, and configurations it may reconfigure otherwise (PS in the config, 960-sample
 * frames) stay with it.
 */
function aacCodec(track: AudioTrack, mime: string): PacketCodec {
  // matroskadec builds a config from the codec ID when there is none.
  if (track.codecPrivate.byteLength === 0) throw new DecoderNeeded(mime, 'Matroska AAC without CodecPrivate');
  const config = parseAacConfig(track.codecPrivate);
  if ('corrupt' in config) throw new ProbeError('corrupt_file', config.corrupt);
  if ('decoderNeeded' in config && !config.sbr) throw new DecoderNeeded(mime, config.decoderNeeded);
  const lowRate = 'decoderNeeded' in config ? config.sbr : undefined;
  const plain = 'sampleRate' in config ? { sampleRate: config.sampleRate, channels: config.channels, frameSamples: 1024 } : undefined;
  const settle = (first: Uint8Array): DecodedLayout => {
    if (hasLibfaacMarker(first)) throw new DecoderNeeded(mime, "Matroska AAC beside libfaac's marker (the decoder drops its first frame)");
    if (!lowRate) return plain!;
    const settled = settledLayout(lowRate, first);
    if ('unsure' in settled) throw new DecoderNeeded(mime, settled.unsure);
    return settled;
  };
  /** Known from the track's first frame on. */
  let layout: DecodedLayout | undefined;
  return {
    // Read once the blocks are walked; a track without blocks goes to the decoder.
    get facts() {
      return lossy('aac', layout?.sampleRate ?? 0, layout?.channels ?? 0);
    },
    samples(packet) {
      if (packet.byteLength === 0) throw new DecoderNeeded(mime, 'an empty Matroska AAC packet');
      layout ??= settle(packet);
      return layout.frameSamples;
    },
    // matroskaenc states the config's core rate (and channels) for HE-AAC; the decoder's output is what plays.
    alsoStated: lowRate && { sampleRate: lowRate.sampleRate, channels: lowRate.channelConfig },
    startSkip: 0,
    discards: false,
    codecDelayKnown: false,
  };
}

/** ALAC bytes past which ffmpeg's own decoding (in C) costs less than walking the bitstream here. */
const MAX_ALAC_WALK_BYTES = 8 << 20;

/**
 * ALAC: CodecPrivate is the ALACSpecificConfig (matroskadec adds the atom header the decoder
 * wants); each packet's bitstream is walked as the decoder parses it (alac.ts), so a packet it
 * would reject goes to the decoder with the file.
 */
function alacCodec(track: AudioTrack, mime: string): PacketCodec {
  const config = parseAlacConfig(track.codecPrivate);
  if (!config) throw new DecoderNeeded(mime, 'Matroska ALAC without its configuration');
  const problem = alacConfigProblem(config);
  if (problem) throw new DecoderNeeded(mime, problem);
  let walked = 0;
  return {
    facts: { codec: 'alac', sampleRate: config.sampleRate, channels: config.channels, bitDepth: config.bitDepth },
    samples(packet) {
      walked += packet.byteLength;
      if (walked > MAX_ALAC_WALK_BYTES) throw new DecoderNeeded(mime, 'Matroska ALAC track too long to walk in-process');
      const samples = alacPacketSamples(packet, config);
      if (samples === undefined) throw new DecoderNeeded(mime, 'a Matroska ALAC packet the decoder may reject');
      return samples;
    },
    startSkip: 0,
    discards: false,
    codecDelayKnown: false,
  };
}

/** More MP3 than this in one track is left to the decoder (the packets are kept to run the parser over them). */
const MAX_MP3_BYTES = 64 << 20;

/**
 * MP3: ffmpeg runs the mpegaudio parser over the packets' bytes (need_parsing FULL), so frames
 * are cut from the stream as in a raw MP3, whatever the block boundaries; no Info frame or LAME
 * tag is trimmed (the decoder plays an Info frame as a silent frame). A block's DiscardPadding
 * travels with the first frame the parser completes inside that block; the decoder trims it from
 * that frame if it decodes and the padding is no longer than the frame (all of it drops the frame).
 */
function mp3Codec(track: AudioTrack, mime: string): PacketCodec {
  const packets: Uint8Array[] = [];
  /** Stream offset where each packet ends, and the padding (samples) of those that carry one. */
  const packetEnds: number[] = [];
  const padding = new Map<number, number>();
  let bytes = 0;
  let first: MpegHeader | undefined;
  return {
    get facts() {
      return lossy('mp3', first?.sampleRate ?? 0, first?.channels ?? 0);
    },
    samples(packet) {
      bytes += packet.byteLength;
      if (bytes > MAX_MP3_BYTES) throw new DecoderNeeded(mime, 'Matroska MP3 track too large to parse in memory');
      packets.push(packet);
      packetEnds.push(bytes);
      return 0;
    },
    padLastPacket(nanoseconds) {
      // matroskadec converts at the track's sampling frequency, rounding to nearest.
      padding.set(packets.length - 1, Math.round((nanoseconds * track.sampleRate) / 1e9));
    },
    async afterLastPacket() {
      const stream = new Uint8Array(bytes);
      packets.reduce((offset, packet) => (stream.set(packet, offset), offset + packet.byteLength), 0);
      first = stream.byteLength >= 4 ? parseMpegHeader(u32be(stream, 0)) : undefined;
      if (!first || first.layer !== 3 || first.frameSize === 0) throw new DecoderNeeded(mime, 'Matroska MP3 track that does not start with a frame');
      const perFrame = first.samplesPerFrame;
      let trimmed = 0;
      let packet = 0;
      const padded = new Set<number>();
      const onFrame = (end: number, decoded: boolean) => {
        if (end > bytes) return; // cut by the end of the stream: output at the flush, without side data
        while (packetEnds[packet]! < end) packet++;
        if (padded.has(packet)) return;
        padded.add(packet);
        const pad = padding.get(packet) ?? 0;
        if (decoded && pad <= perFrame) trimmed += pad;
      };
      const reader = new BlockReader(new BufferSource(stream));
      const { frames } = await parseMpegStream(reader, 0, stream.byteLength, first, mime, onFrame);
      return frames * perFrame - trimmed;
    },
    startSkip: 0,
    discards: false,
    codecDelayKnown: false,
  };
}

function pcmCodec(track: AudioTrack, mime: string): PacketCodec {
  const bits = track.bitDepth ?? 0;
  const float = track.codecId === 'A_PCM/FLOAT/IEEE';
  const known = float ? bits === 32 || bits === 64 : [8, 16, 24, 32].includes(bits);
  if (!known || !['A_PCM/INT/LIT', 'A_PCM/INT/BIG', 'A_PCM/FLOAT/IEEE'].includes(track.codecId)) {
    throw new DecoderNeeded(mime, `Matroska ${track.codecId} at ${bits} bits`);
  }
  const frameBytes = (bits / 8) * track.channels;
  return {
    facts: { codec: 'pcm', sampleRate: track.sampleRate, channels: track.channels, bitDepth: bits },
    samples(packet) {
      if (packet.byteLength % frameBytes !== 0) throw new DecoderNeeded(mime, 'a Matroska PCM packet of part sample frames');
      return packet.byteLength / frameBytes;
    },
    startSkip: 0,
    discards: false,
    codecDelayKnown: false,
  };
}
