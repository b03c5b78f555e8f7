import { ProbeError } from '../../errors.js';
import { concatBytes } from '../containers/bytes.js';
import { BOS, checkedPage, CONTINUED, EOS, findSync, OGG_MAX_PAGE_SIZE, pageBody, readPageAt, type OggPage } from '../containers/ogg-pages.js';
import { ascii, BlockReader, startsWith, u16le, u32le } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { flacFacts, parseStreamInfo, STREAMINFO_SIZE, type StreamInfo } from './flac.js';
import { parseVorbisIdentification, VorbisDurations, type VorbisIdentification } from './vorbis.js';

/**
 * Ogg Vorbis, Opus and FLAC, measured as ffmpeg's ogg demuxer and decoders play them: the last
 * granule position of the first audio stream, less where the stream starts (the first audio
 * page's granule less its packets' durations, oggparsevorbis.c / oggparseopus.c) and, for
 * Opus, the pre-skip; Speex by its packets, whose length the decoder fixes. Every page header is
 * walked; chained streams go to the decoder.
 */

const MIME = 'audio/ogg';

type Page = OggPage;

/** A packet of the chosen stream, with the stream page indexes it starts and ends on. */
interface Packet {
  bytes: Uint8Array;
  startPage: number;
  endPage: number;
}

type Codec =
  | { name: 'vorbis'; headers: 3; id: VorbisIdentification }
  | { name: 'opus'; headers: 2; channels: number; preSkip: number }
  | { name: 'flac'; headers: number; info: StreamInfo }
  | { name: 'speex'; headers: 2; sampleRate: number; channels: number; packetSamples: number };

export async function readOgg(input: AudioInput): Promise<AudioFacts> {
  const size = await input.size();
  const reader = new BlockReader(input.source);
  const walk = await walkPages(reader, size);
  const { codec, packets, pages } = walk;
  const lastPage = [...pages].reverse().find((p) => p.granule >= 0);
  if (!lastPage || packets.length <= codec.headers) throw new ProbeError('corrupt_file', `Ogg ${codec.name} stream without audio pages`);
  const last = lastPage.granule;
  switch (codec.name) {
    case 'flac':
      if (codec.info.totalSamples !== 0 && codec.info.totalSamples !== last) {
        throw new DecoderNeeded(MIME, 'Ogg FLAC granule and STREAMINFO disagree', codec.info.totalSamples / codec.info.sampleRate);
      }
      return flacFacts(MIME, codec.info, last);
    case 'vorbis':
      return lossyFacts('vorbis', codec.id.sampleRate, codec.id.channels, vorbisSamples(walk, codec.id, last));
    case 'opus': {
      const samples = last - opusStart(walk) - codec.preSkip;
      return lossyFacts('opus', 48000, codec.channels, samples);
    }
    case 'speex':
      return lossyFacts('speex', codec.sampleRate, codec.channels, (await speexPackets(reader, walk)) * codec.packetSamples);
  }
}

function lossyFacts(codec: string, sampleRate: number, channels: number, samples: number): AudioFacts {
  if (samples < 0) throw new ProbeError('corrupt_file', `Ogg ${codec} granule positions give ${samples} samples`);
  // Opus always decodes at 48 kHz; both decoders output float.
  return { mime: MIME, codec, sampleRate, channels, bitDepth: 32, duration: samples / sampleRate };
}

interface Walk {
  codec: Codec;
  /** Header packets and the packets of the first audio page, in order. */
  packets: Packet[];
  /** The chosen stream's pages, in order. */
  pages: Page[];
}

/**
 * Reads every page header in the file; keeps the first audio stream's pages, and its packets up
 * to the end of its first audio page.
 */
async function walkPages(reader: BlockReader, size: number): Promise<Walk> {
  let codec: Codec | undefined;
  let serial: number | undefined;
  const pages: Page[] = [];
  const packets: Packet[] = [];
  let partial: Uint8Array[] = [];
  let partialStart = 0;
  let headersDone = false;
  let skippedJunk = false;
  let onlyHeaderPages = true;
  let offset = 0;
  for (let sawData = false; offset < size; ) {
    const read = await nextPage(reader, offset, size);
    if ('end' in read) {
      if (read.end !== 'no-page' && !headersDone && onlyHeaderPages) {
        throw new ProbeError('truncated', `the Ogg file ends inside its header pages (page at byte ${offset} is cut)`);
      }
      if (read.end === 'cut-header') throw new ProbeError('truncated', `Ogg page header at byte ${offset} is cut by the end of the file`);
      // A last page cut by the end of the file is skipped, as ffmpeg skips it: the decoder plays the pages before it.
      break;
    }
    const { page, junk } = read;
    skippedJunk ||= junk;
    onlyHeaderPages &&= page.granule === 0;
    offset = page.offset + page.size;
    if (page.flags & BOS) {
      if (sawData) throw new DecoderNeeded(MIME, 'chained Ogg streams');
      if (serial === undefined) {
        const body = await pageBody(reader, page);
        const found = identify(body);
        if (found) [codec, serial] = [found, page.serial];
      }
    } else sawData = true;
    if (page.serial !== serial) continue;
    pages.push(page);
    if (headersDone) continue;
    const body = await pageBody(reader, page);
    let position = 0;
    if (!(page.flags & CONTINUED)) partial = [];
    for (const lace of page.lacing) {
      if (partial.length === 0) partialStart = pages.length - 1;
      partial.push(body.subarray(position, position + lace));
      position += lace;
      if (lace < 255) {
        packets.push({ bytes: concatBytes(partial), startPage: partialStart, endPage: pages.length - 1 });
        partial = [];
      }
    }
    headersDone = packets.length > codec!.headers && packets[codec!.headers]!.startPage < pages.length - 1;
  }
  if (!codec) throw new DecoderNeeded(MIME, 'no Vorbis, Opus, FLAC or Speex stream in the Ogg file');
  if (skippedJunk) checkNoPageLost(pages);
  await verifyCrc(reader, pages[pages.length - 1]!);
  return { codec, packets, pages };
}

/**
 * The page at `offset`, or, past junk, the next page within the distance ffmpeg's sync search
 * covers (its CRC checked: ffmpeg would skip a damaged one and look further).
 */
async function nextPage(reader: BlockReader, offset: number, size: number): Promise<{ page: Page; junk: boolean } | { end: 'no-page' | 'cut-header' | 'cut-body' }> {
  const read = await readPageAt(reader, offset, size);
  if (!('end' in read) || read.end !== 'no-page') return 'end' in read ? read : { page: read.page, junk: false };
  const sync = await findSync(reader, offset + 1, size, OGG_MAX_PAGE_SIZE);
  if (sync === undefined) {
    if (await findSync(reader, offset + 1, size, Infinity)) throw new DecoderNeeded(MIME, `Ogg pages resume after junk at byte ${offset}`);
    return read;
  }
  const after = await readPageAt(reader, sync, size);
  if ('end' in after) return after;
  if (!(await checkedPage(reader, after.page))) throw new DecoderNeeded(MIME, `the Ogg page after junk at byte ${offset} fails its CRC check`);
  return { page: after.page, junk: true };
}

/** After junk, the stream's page sequence numbers show whether a page of it was lost (the decoder would then play less). */
function checkNoPageLost(pages: Page[]): void {
  for (let i = 1; i < pages.length; i++) {
    if (pages[i]!.sequence !== pages[i - 1]!.sequence + 1) throw new DecoderNeeded(MIME, `Ogg page ${pages[i]!.sequence} follows page ${pages[i - 1]!.sequence}: pages are missing`);
  }
}

async function verifyCrc(reader: BlockReader, page: Page): Promise<Uint8Array> {
  const bytes = await checkedPage(reader, page);
  if (!bytes) throw new ProbeError('corrupt_file', `Ogg page at byte ${page.offset} fails its CRC check`);
  return bytes;
}

/** The codec of a stream from its first packet; undefined for streams that are not audio. */
function identify(first: Uint8Array): Codec | undefined {
  if (first[0] === 1 && startsWith(first, 'vorbis', 1)) return { name: 'vorbis', headers: 3, id: parseVorbisIdentification(first) };
  if (startsWith(first, 'OpusHead')) return opusHead(first);
  if (first[0] === 0x7f && startsWith(first, 'FLAC', 1)) return flacMapping(first);
  if (startsWith(first, 'Speex   ')) return speexHeader(first);
  if (startsWith(first, 'fLaC') || startsWith(first, 'CELT    ') || startsWith(first, 'PCM     ')) {
    throw new DecoderNeeded(MIME, `Ogg stream '${ascii(first, 0, 8).trim()}'`);
  }
  return undefined;
}

function opusHead(packet: Uint8Array): Codec {
  if (packet.byteLength < 19 || packet[8]! >= 16 || packet[9] === 0) throw new ProbeError('corrupt_file', 'invalid OpusHead');
  return { name: 'opus', headers: 2, channels: packet[9]!, preSkip: u16le(packet, 10) };
}

/**
 * The Speex header as ffmpeg's speex decoder checks it. That decoder outputs frames_per_packet
 * frames of frame_size samples for every packet, and ignores the granule positions; it drops a
 * packet that holds fewer frames (an encoder's last packet often does), which only a bitstream
 * parse would tell, so only one frame per packet is measured here.
 */
function speexHeader(packet: Uint8Array): Codec {
  if (packet.byteLength < 80) throw new ProbeError('corrupt_file', 'Speex header cut short');
  const field = (offset: number) => u32le(packet, offset);
  const [sampleRate, mode, channels, frameSize, framesPerPacket, extraHeaders] = [field(36), field(40), field(48), field(56), field(64), field(68)];
  if (sampleRate === 0 || mode > 2 || channels < 1 || channels > 2 || frameSize < 160 << mode || framesPerPacket < 1 || framesPerPacket > 64) {
    throw new DecoderNeeded(MIME, `Speex header the decoder may refuse (mode ${mode}, ${channels} channels, ${framesPerPacket} frames of ${frameSize})`);
  }
  if (extraHeaders !== 0) throw new DecoderNeeded(MIME, `Speex with ${extraHeaders} extra header packets`);
  if (framesPerPacket !== 1) throw new DecoderNeeded(MIME, `Speex with ${framesPerPacket} frames per packet`);
  return { name: 'speex', headers: 2, sampleRate, channels, packetSamples: frameSize * framesPerPacket };
}

/**
 * The non-empty audio packets of a Speex stream (an empty one decodes to nothing), every page's
 * CRC checked: the decoder drops a damaged packet, so only packets proven whole are counted.
 */
async function speexPackets(reader: BlockReader, walk: Walk): Promise<number> {
  let packets = 0;
  let audio = 0;
  let inPacket = false;
  for (const page of walk.pages) {
    await verifyCrc(reader, page).catch(() => {
      throw new DecoderNeeded(MIME, `Ogg Speex page at byte ${page.offset} fails its CRC check`);
    });
    if (Boolean(page.flags & CONTINUED) !== inPacket) throw new DecoderNeeded(MIME, `Ogg Speex packet cut at page ${page.offset}`);
    for (const lace of page.lacing) {
      const empty = !inPacket && lace === 0;
      inPacket = lace === 255;
      if (inPacket) continue;
      // The first two packets are the header and the comments.
      if (packets++ >= 2 && !empty) audio++;
    }
  }
  if (inPacket) throw new DecoderNeeded(MIME, 'the last Ogg Speex packet is unfinished');
  return audio;
}

/** Ogg FLAC mapping: 0x7F "FLAC", version, header packet count, "fLaC", STREAMINFO block. */
function flacMapping(packet: Uint8Array): Codec {
  if (packet.byteLength < 13 + 4 + STREAMINFO_SIZE || !startsWith(packet, 'fLaC', 9) || (packet[13]! & 0x7f) !== 0) {
    throw new ProbeError('corrupt_file', 'invalid Ogg FLAC mapping header');
  }
  const otherHeaders = (packet[7]! << 8) | packet[8]!;
  if (otherHeaders === 0) throw new DecoderNeeded(MIME, 'Ogg FLAC with an unknown number of header packets');
  return { name: 'flac', headers: 1 + otherHeaders, info: parseStreamInfo(packet.subarray(17)) };
}

/** The audio packets that start and end on the first audio page, and that page. */
function firstAudioPage(walk: Walk, headers: number): { page: Page; packets: Uint8Array[] } {
  const first = walk.packets[headers]!;
  if (first.startPage !== first.endPage) throw new DecoderNeeded(MIME, 'the first Ogg audio packet spans pages');
  const page = walk.pages[first.startPage]!;
  if (page.granule < 0) throw new DecoderNeeded(MIME, 'the first Ogg audio page ends no packet');
  const packets = walk.packets.slice(headers).filter((p) => p.endPage === first.startPage).map((p) => p.bytes);
  return { page, packets };
}

/**
 * oggparsevorbis.c: the stream starts at the first audio page's granule less the durations of
 * its packets (the first packet outputs nothing) and is trimmed to the last granule. When that
 * first page is also the last (EOS), the start stays 0 and the trim is computed from there.
 */
function vorbisSamples(walk: Walk, id: VorbisIdentification, last: number): number {
  const durations = new VorbisDurations(id, walk.packets[2]!.bytes);
  const { page, packets } = firstAudioPage(walk, 3);
  const [first = 0, ...rest] = packets.map((p) => durations.duration(p));
  const played = rest.reduce((a, b) => a + b, 0);
  if (page.flags & EOS) return Math.min(played, page.granule - first);
  return last - (page.granule - played);
}

/** oggparseopus.c: the first audio page's granule less the duration of its packets. */
function opusStart(walk: Walk): number {
  const { page, packets } = firstAudioPage(walk, 2);
  if (page.flags & EOS) throw new DecoderNeeded(MIME, 'the Ogg Opus stream has a single audio page');
  return page.granule - packets.reduce((sum, p) => sum + opusPacketSamples(p), 0);
}

/** Samples in an Opus packet from its TOC byte (RFC 6716 §3.1), as oggparseopus.c opus_duration. */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) throw new ProbeError('corrupt_file', 'empty Opus packet');
  const config = toc >> 3;
  const frameSize = config < 12 ? Math.max(480, 960 * (config & 3)) : config < 16 ? 480 << (config & 1) : 120 << (config & 3);
  const count = toc & 3;
  if (count === 3 && packet.byteLength < 2) throw new ProbeError('corrupt_file', 'Opus packet without its frame count');
  const frames = count === 0 ? 1 : count === 3 ? packet[1]! & 0x3f : 2;
  return frameSize * frames;
}
