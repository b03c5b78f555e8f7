/**
 * Checks of codec configuration records that FFmpeg's decoders refuse when damaged. ffprobe 5.1
 * exits when any stream's decoder will not open, so a file carrying such a record is left to
 * ffprobe (which then reports it unreadable) instead of being described from its headers.
 */
import { BitReader } from '../bytes.js';

/** Audio object types FFmpeg's AAC decoder opens: Main, LC, SSR, LTP, ER LC, ER LD, ER ELD. */
const AAC_OBJECT_TYPES = new Set([1, 2, 3, 4, 17, 23, 39]);
const SBR = 5;
const PS = 29;

/** The head of an AudioSpecificConfig: the core object type (under SBR/PS), sampling index, channel configuration. */
export interface AacConfigHead {
  objectType: number;
  samplingIndex: number;
  channels: number;
}

/** Reads the head of an AudioSpecificConfig as decode_audio_specific_config does; throws when it ends early. */
export function readAacConfigHead(config: Uint8Array): AacConfigHead {
  const bits = new BitReader(config);
  const objectType = () => {
    const type = bits.u(5);
    return type === 31 ? 32 + bits.u(6) : type;
  };
  const samplingIndex = () => {
    const index = bits.u(4);
    if (index === 15) bits.skip(24);
    return index;
  };
  let type = objectType();
  const index = samplingIndex();
  const channels = bits.u(4);
  if (type === SBR || type === PS) {
    samplingIndex();
    type = objectType();
  }
  return { objectType: type, samplingIndex: index, channels };
}

/**
 * The AudioSpecificConfig checks of FFmpeg's decode_audio_specific_config (5.1). Channel
 * configurations 11 to 13 (6.1, 7.1 with rear surrounds, 22.2) open; 8 to 10 and 14, 15 are
 * refused by set_default_channel_config; 0 needs a PCE, which is not read here.
 */
export function aacConfigProblem(config: Uint8Array): string | undefined {
  let head: AacConfigHead;
  try {
    head = readAacConfigHead(config);
  } catch {
    return 'AudioSpecificConfig ends early';
  }
  const { objectType: type, samplingIndex: index, channels } = head;
  if (index > 12) return `sampling index ${index}`;
  if (!AAC_OBJECT_TYPES.has(type)) return `audio object type ${type}`;
  if (channels === 0 || (channels > 7 && channels < 11) || channels > 13) return `channel configuration ${channels}`;
  if (type === 23 && (index < 3 || index > 7)) return `ER AAC LD at sampling index ${index}`;
  return undefined;
}

/** AVCDecoderConfigurationRecord: version 1, parameter sets within the record, at least one PPS. */
export function avcConfigProblem(avcC: Uint8Array): string | undefined {
  if (avcC.byteLength < 7 || avcC[0] !== 1) return 'not version 1';
  let offset = 5;
  for (const mask of [0x1f, 0xff]) {
    const count = avcC[offset]! & mask;
    offset++;
    for (let i = 0; i < count; i++) {
      if (offset + 2 > avcC.byteLength) return 'parameter sets end early';
      offset += 2 + ((avcC[offset]! << 8) | avcC[offset + 1]!);
      if (offset > avcC.byteLength) return 'parameter set past the record';
    }
    if (mask === 0x1f && offset >= avcC.byteLength) return 'no picture parameter sets';
  }
  return undefined;
}

/** HEVCDecoderConfigurationRecord: every NAL unit within the record ("Invalid NAL unit size in extradata"). */
export function hevcConfigProblem(hvcC: Uint8Array): string | undefined {
  if (hvcC.byteLength < 23) return 'short configuration record';
  let offset = 23;
  for (let a = 0; a < hvcC[22]!; a++) {
    if (offset + 3 > hvcC.byteLength) return 'NAL arrays end early';
    const count = (hvcC[offset + 1]! << 8) | hvcC[offset + 2]!;
    offset += 3;
    for (let i = 0; i < count; i++) {
      if (offset + 2 > hvcC.byteLength) return 'NAL units end early';
      offset += 2 + ((hvcC[offset]! << 8) | hvcC[offset + 1]!);
      if (offset > hvcC.byteLength) return 'NAL unit past the record';
    }
  }
  return undefined;
}

/** Matroska A_VORBIS private data: Xiph-laced identification, comment and setup headers. */
export function vorbisPrivateProblem(data: Uint8Array): string | undefined {
  if (data.byteLength < 3 || data[0] !== 2) return 'not three Xiph-laced headers';
  let offset = 1;
  const sizes: number[] = [];
  for (let packet = 0; packet < 2; packet++) {
    let size = 0;
    while (offset < data.byteLength && data[offset] === 255) size += data[offset++]!;
    if (offset >= data.byteLength) return 'lacing ends early';
    sizes.push(size + data[offset++]!);
  }
  const starts = [offset, offset + sizes[0]!, offset + sizes[0]! + sizes[1]!];
  if (starts[2]! >= data.byteLength) return 'headers past the private data';
  const magic = (at: number, type: number) => data[at] === type && String.fromCharCode(...data.subarray(at + 1, at + 7)) === 'vorbis';
  return magic(starts[0]!, 1) && magic(starts[1]!, 3) && magic(starts[2]!, 5) ? undefined : 'not Vorbis headers';
}

/** Matroska A_OPUS private data: an OpusHead FFmpeg's ff_opus_parse_extradata accepts. */
export function opusPrivateProblem(data: Uint8Array): string | undefined {
  if (data.byteLength < 19 || String.fromCharCode(...data.subarray(0, 8)) !== 'OpusHead') return 'not an OpusHead';
  const channels = data[9]!;
  const family = data[18]!;
  if (channels === 0) return 'zero channels';
  if (family === 0 && channels > 2) return `${channels} channels with mapping family 0`;
  if (family !== 0 && data.byteLength < 21 + channels) return 'channel mapping table ends early';
  return undefined;
}

/** Matroska A_FLAC private data: fLaC then STREAMINFO. */
export function flacPrivateProblem(data: Uint8Array): string | undefined {
  return data.byteLength >= 42 && String.fromCharCode(...data.subarray(0, 4)) === 'fLaC' && (data[4]! & 0x7f) === 0 ? undefined : 'not fLaC with STREAMINFO';
}

/** The configuration check for a Matroska codec ID, when one applies. */
export const MATROSKA_PRIVATE_CHECKS: Record<string, (data: Uint8Array) => string | undefined> = {
  A_AAC: aacConfigProblem,
  'V_MPEG4/ISO/AVC': avcConfigProblem,
  'V_MPEGH/ISO/HEVC': hevcConfigProblem,
  A_VORBIS: vorbisPrivateProblem,
  A_OPUS: opusPrivateProblem,
  A_FLAC: flacPrivateProblem,
};
