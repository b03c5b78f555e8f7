/**
 * What FFmpeg 5.1's mpegts demuxer makes of each elementary stream a PMT lists, before it reads
 * any of the stream's content: pmt_cb, mpegts_set_stream_info (the ISO, HDMV, MISC and HLS
 * sample-encryption stream type tables, the probe requests for types 0x04, 0x0f and private
 * data) and ff_parse_mpeg2_descriptor (the DESC, REGD and METADATA tables, ARIB captions), read
 * in libavformat/mpegts.c. A stream left without a codec is probed on its PES content
 * (set_codec_from_probe_data, see content-probe.ts). Whatever this does not model (MPEG-4
 * systems descriptors, HDMV TrueHD with its AC-3 sub-stream, damaged tables) is a NeedsFfprobe.
 */
import { NeedsFfprobe } from './facts.js';

export type Media = 'video' | 'audio' | 'subtitle' | 'data';

export interface EsInfo {
  pid: number;
  streamType: number;
  /** The codec FFmpeg sets from the tables (FFmpeg's codec name), undefined for AV_CODEC_ID_NONE. */
  codec?: string;
  /** codecpar->codec_type; undefined while FFmpeg knows nothing (AVMEDIA_TYPE_UNKNOWN). */
  media?: Media;
  /** FFStream.request_probe once the PMT is read: > 0 means the PES content may change the codec. */
  requestProbe: number;
}

type Entry = [number, Media, string];

const ISO_TYPES: Entry[] = [
  [0x01, 'video', 'mpeg2video'], [0x02, 'video', 'mpeg2video'], [0x03, 'audio', 'mp3'], [0x04, 'audio', 'mp3'],
  [0x0f, 'audio', 'aac'], [0x10, 'video', 'mpeg4'], [0x1b, 'video', 'h264'], [0x1c, 'audio', 'aac'],
  [0x20, 'video', 'h264'], [0x21, 'video', 'jpeg2000'], [0x24, 'video', 'hevc'], [0x42, 'video', 'cavs'],
  [0xd1, 'video', 'dirac'], [0xd2, 'video', 'avs2'], [0xd4, 'video', 'avs3'], [0xea, 'video', 'vc1'],
];

const HDMV_TYPES: Entry[] = [
  [0x80, 'audio', 'pcm_bluray'], [0x81, 'audio', 'ac3'], [0x82, 'audio', 'dts'], [0x83, 'audio', 'truehd'],
  [0x84, 'audio', 'eac3'], [0x85, 'audio', 'dts'], [0x86, 'audio', 'dts'], [0xa1, 'audio', 'eac3'],
  [0xa2, 'audio', 'dts'], [0x90, 'subtitle', 'hdmv_pgs_subtitle'], [0x92, 'subtitle', 'hdmv_text_subtitle'],
];

const MISC_TYPES: Entry[] = [[0x81, 'audio', 'ac3'], [0x8a, 'audio', 'dts']];

/** SAMPLE-AES streams of HLS: encrypted, so not read here even when FFmpeg names their codec. */
const HLS_SAMPLE_ENC_TYPES = new Set([0xdb, 0xcf, 0xc1, 0xc2]);

const tag = (text: string) => text.charCodeAt(0) | (text.charCodeAt(1) << 8) | (text.charCodeAt(2) << 16) | (text.charCodeAt(3) * 2 ** 24);

const REGD_TYPES: Entry[] = [
  [tag('drac'), 'video', 'dirac'], [tag('AC-3'), 'audio', 'ac3'], [tag('BSSD'), 'audio', 's302m'],
  [tag('DTS1'), 'audio', 'dts'], [tag('DTS2'), 'audio', 'dts'], [tag('DTS3'), 'audio', 'dts'],
  [tag('EAC3'), 'audio', 'eac3'], [tag('HEVC'), 'video', 'hevc'], [tag('KLVA'), 'data', 'smpte_klv'],
  [tag('ID3 '), 'data', 'timed_id3'], [tag('VC-1'), 'video', 'vc1'], [tag('Opus'), 'audio', 'opus'],
];

const METADATA_TYPES: Entry[] = [[tag('KLVA'), 'data', 'smpte_klv'], [tag('ID3 '), 'data', 'timed_id3']];

/** Descriptor tags that name the codec of PES private data (stream type 0x06). */
const DESC_TYPES: Entry[] = [
  [0x6a, 'audio', 'ac3'], [0x7a, 'audio', 'eac3'], [0x7b, 'audio', 'dts'],
  [0x56, 'subtitle', 'dvb_teletext'], [0x59, 'subtitle', 'dvb_subtitle'],
];

const PRIVATE_DATA = 0x06;
/** AVPROBE_SCORE_STREAM_RETRY / 5: how hard FFmpeg probes PES private data it has no codec for. */
const PRIVATE_DATA_PROBE = 4;
const REGISTRATION_DESCRIPTOR = 0x05;
const IOD_DESCRIPTOR = 0x1d;
const DVB_EXTENSION_DESCRIPTOR = 0x7f;
const DOVI_DESCRIPTOR = 0xb0;
const METADATA_DESCRIPTOR = 0x26;
const STREAM_IDENTIFIER_DESCRIPTOR = 0x52;
const ARIB_DATA_CODING_DESCRIPTOR = 0xfd;
const MAX_STREAMS_PER_PROGRAM = 128;

/** The state of one stream while its PMT entry is read, as FFStream and codecpar hold it. */
interface Building extends EsInfo {
  streamIdentifier: number;
}

/** mpegts_find_stream_type: a table hit sets the codec and cancels any probe request. */
function findStreamType(stream: Building, key: number, table: Entry[]): void {
  const hit = table.find(([value]) => value === key);
  if (!hit) return;
  [, stream.media, stream.codec] = hit;
  stream.requestProbe = 0;
}

/** mpegts_set_stream_info for a stream the PMT creates. */
function setStreamInfo(pid: number, streamType: number, programRegistration: number): Building {
  const stream: Building = { pid, streamType, media: 'data', requestProbe: 0, streamIdentifier: 0 };
  findStreamType(stream, streamType, ISO_TYPES);
  if (streamType === 0x04 || streamType === 0x0f) stream.requestProbe = 50;
  if ((programRegistration === tag('HDMV') || programRegistration === tag('HDPR')) && !stream.codec) {
    if (streamType === 0x83) throw new NeedsFfprobe('MPEG-TS HDMV TrueHD (FFmpeg adds an AC-3 sub-stream)');
    findStreamType(stream, streamType, HDMV_TYPES);
  }
  if (!stream.codec) findStreamType(stream, streamType, MISC_TYPES);
  if (!stream.codec && HLS_SAMPLE_ENC_TYPES.has(streamType)) throw new NeedsFfprobe('MPEG-TS SAMPLE-AES stream');
  // No table knows the type: codecpar goes back to what a new stream has (type unknown, no codec).
  if (!stream.codec) stream.media = undefined;
  if ((!stream.codec || (stream.requestProbe > 0 && stream.requestProbe < PRIVATE_DATA_PROBE)) && streamType === PRIVATE_DATA) {
    [stream.media, stream.codec, stream.requestProbe] = ['data', 'bin_data', PRIVATE_DATA_PROBE];
  }
  return stream;
}

/** One descriptor of the ES loop (ff_parse_mpeg2_descriptor); false where FFmpeg stops reading the loop. */
function applyDescriptor(stream: Building, descriptor: Uint8Array): boolean {
  const [descriptorTag, length] = [descriptor[0]!, descriptor.byteLength - 2];
  const body = descriptor.subarray(2);
  if ((!stream.codec || stream.requestProbe > 0) && stream.streamType === PRIVATE_DATA) findStreamType(stream, descriptorTag, DESC_TYPES);
  switch (descriptorTag) {
    case REGISTRATION_DESCRIPTOR: {
      if (length < 4) throw new NeedsFfprobe('MPEG-TS registration descriptor shorter than its tag');
      const registration = body[0]! | (body[1]! << 8) | (body[2]! << 16) | (body[3]! * 2 ** 24);
      if (!stream.codec || stream.requestProbe > 0) {
        findStreamType(stream, registration, REGD_TYPES);
        if (registration === tag('BSSD')) stream.requestProbe = 50;
      }
      return true;
    }
    case 0x56:
      return !(length > 0 && length % 5 !== 0);
    case 0x59:
      return !(length > 0 && length % 8 !== 0);
    case STREAM_IDENTIFIER_DESCRIPTOR:
      if (length >= 1) stream.streamIdentifier = 1 + body[0]!;
      return true;
    case METADATA_DESCRIPTOR:
      return applyMetadataDescriptor(stream, body);
    case ARIB_DATA_CODING_DESCRIPTOR:
      return applyAribDescriptor(stream, body);
    case DVB_EXTENSION_DESCRIPTOR:
      return extensionIsReadable(stream, body);
    case DOVI_DESCRIPTOR:
      return length >= 4;
    default:
      return true;
  }
}

/**
 * The DVB extension descriptor's parts FFmpeg rejects as damaged (which ends the loop): Opus
 * channel configuration, supplementary audio without its flags or language.
 */
function extensionIsReadable(stream: Building, body: Uint8Array): boolean {
  if (body.byteLength === 0) return false;
  if (stream.codec === 'opus' && body[0] === 0x80 && body.byteLength < 2) return false;
  if (body[0] !== 0x06) return true;
  // A missing flags byte reads as an (odd) error code: language_code_present.
  const languagePresent = body.byteLength < 2 || (body[1]! & 1) !== 0;
  return !(languagePresent && body.byteLength < 4);
}

/** METADATA_DESCRIPTOR: a format 0xFF is followed by the format's registration tag. */
function applyMetadataDescriptor(stream: Building, body: Uint8Array): boolean {
  if (body.byteLength < 2) throw new NeedsFfprobe('MPEG-TS metadata descriptor cut short');
  let at = body[0] === 0xff && body[1] === 0xff ? 6 : 2;
  if (at >= body.byteLength) throw new NeedsFfprobe('MPEG-TS metadata descriptor cut short');
  if (body[at] !== 0xff) return true;
  at += 1;
  if (at + 4 > body.byteLength) throw new NeedsFfprobe('MPEG-TS metadata descriptor shorter than its tag');
  const registration = body[at]! | (body[at + 1]! << 8) | (body[at + 2]! << 16) | (body[at + 3]! * 2 ** 24);
  if (!stream.codec) findStreamType(stream, registration, METADATA_TYPES);
  return true;
}

/** ARIB data coding descriptor on private data: captions when the component tag fits the profile. */
function applyAribDescriptor(stream: Building, body: Uint8Array): boolean {
  if (stream.streamType !== PRIVATE_DATA) return true;
  if (body.byteLength < 2) return false;
  const component = stream.streamIdentifier - 1;
  const dataComponent = (body[0]! << 8) | body[1]!;
  const profileA = dataComponent === 0x0008 && component >= 0x30 && component <= 0x37;
  const profileC = dataComponent === 0x0012 && component === 0x87;
  if (profileA || profileC) [stream.media, stream.codec, stream.requestProbe] = ['subtitle', 'arib_caption', 0];
  return true;
}

/** MPEG-2's CRC-32 (polynomial 0x04C11DB7, all ones at the start, no reflection). */
export function mpegCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

/** A PSI section ends with the CRC that makes the CRC of the whole section 0 (FFmpeg ignores others). */
export const sectionCrcIsValid = (section: Uint8Array): boolean => mpegCrc32(section) === 0;

/**
 * pmt_cb over one whole PMT section: the program's registration (program info), then each
 * elementary stream with its descriptors, in order.
 */
export function readPmtStreams(section: Uint8Array, pmtPid: number): EsInfo[] {
  if (section[0] !== 2) throw new NeedsFfprobe('MPEG-TS PMT section of another table');
  if (section.byteLength < 16 || !sectionCrcIsValid(section)) throw new NeedsFfprobe('MPEG-TS PMT with a bad CRC');
  if (!(section[5]! & 1)) throw new NeedsFfprobe('MPEG-TS PMT not yet current');
  const end = section.byteLength - 4;
  const programInfoEnd = 12 + (((section[10]! & 15) << 8) | section[11]!);
  if (programInfoEnd > end) throw new NeedsFfprobe('MPEG-TS PMT program info overruns the section');
  const programRegistration = programRegistrationOf(section.subarray(12, programInfoEnd));
  const streams: EsInfo[] = [];
  for (let p = programInfoEnd; p < end; ) {
    if (p + 5 > end) throw new NeedsFfprobe('MPEG-TS PMT entry cut short');
    if (streams.length === MAX_STREAMS_PER_PROGRAM) throw new NeedsFfprobe('MPEG-TS PMT with over 128 streams');
    const streamType = section[p]!;
    const pid = ((section[p + 1]! & 0x1f) << 8) | section[p + 2]!;
    const descriptorsEnd = p + 5 + (((section[p + 3]! & 15) << 8) | section[p + 4]!);
    if (descriptorsEnd > end || pid === pmtPid) throw new NeedsFfprobe('MPEG-TS PMT entry overruns the section');
    streams.push(readEntry(pid, streamType, programRegistration, section.subarray(p + 5, descriptorsEnd)));
    p = descriptorsEnd;
  }
  return streams;
}

function readEntry(pid: number, streamType: number, programRegistration: number, descriptors: Uint8Array): EsInfo {
  // is_pes_stream: SCTE-35 (with a CUEI program registration) and type 0x13 carry sections, never PES.
  if (streamType === 0x13 || (streamType === 0x86 && programRegistration === tag('CUEI'))) {
    return { pid, streamType, media: 'data', codec: streamType === 0x86 ? 'scte_35' : undefined, requestProbe: 0 };
  }
  if (streamType === 0x12 || streamType === 0x15) throw new NeedsFfprobe(`MPEG-TS stream type 0x${streamType.toString(16)} (SL or metadata access unit headers)`);
  const stream = setStreamInfo(pid, streamType, programRegistration);
  for (let p = 0; p + 2 <= descriptors.byteLength; ) {
    const next = p + 2 + descriptors[p + 1]!;
    if (next > descriptors.byteLength || !applyDescriptor(stream, descriptors.subarray(p, next))) break;
    p = next;
  }
  const { streamIdentifier: _, ...info } = stream;
  return info;
}

function programRegistrationOf(programInfo: Uint8Array): number {
  let registration = 0;
  for (let p = 0; p + 2 <= programInfo.byteLength; ) {
    const [descriptorTag, length] = [programInfo[p]!, programInfo[p + 1]!];
    if (p + 2 + length > programInfo.byteLength) break;
    if (descriptorTag === IOD_DESCRIPTOR) throw new NeedsFfprobe('MPEG-TS MPEG-4 systems (IOD descriptor)');
    if (descriptorTag === REGISTRATION_DESCRIPTOR && length >= 4) {
      registration = programInfo[p + 2]! | (programInfo[p + 3]! << 8) | (programInfo[p + 4]! << 16) | (programInfo[p + 5]! * 2 ** 24);
    }
    p += 2 + length;
  }
  return registration;
}
