/**
 * Audio-only MXF (OP-Atom sound files, OP1a without a picture track), the first sound track, as
 * FFmpeg 5.1 demuxes and decodes it. The codec is linear PCM from the sound essence compression
 * UL or, without one, the BWF/AES3/D-10 essence container (pcm_s16le, widened to 24 or 32 bits by
 * the descriptor's quantization bits). The decoded length is what the demuxer hands the PCM
 * decoder: every essence element of the track, each decoding to its whole sample frames (an
 * element shorter than one frame decodes to nothing), D-10 AES3 elements after their 8-channel
 * unpacking. Other codecs, essence whose packetization depends on the index (clip-wrapped essence
 * without a usable edit unit size) and anything mxf.ts does not model go to the decoder.
 */
import { ProbeError } from '../../errors.js';
import { essenceElements, formatDuration, parseMxf, streamOfElement, type Descriptor, type Klv, type MxfFile, type MxfStream } from '../containers/mxf.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';

export { isMxf } from '../containers/mxf.js';

const MIME = 'application/mxf';
const ELEMENTS_WALKED = 100_000;
/** mxf_get_d10_aes3_packet refuses larger elements ("worst case PAL 1920 samples 8 channels"). */
const D10_AES3_MAX = 61444;

export function readMxf(input: AudioInput): Promise<AudioFacts> {
  return DecoderNeeded.ifContainerUnsure(MIME, () => measure(input));
}

async function measure(input: AudioInput): Promise<AudioFacts> {
  const file = await parseMxf(input.source);
  const streamIndex = file.streams.findIndex((stream) => stream.type === 'audio');
  if (streamIndex < 0) throw new ProbeError('no_audio_stream', `${input.source.name}: the MXF file has no sound track`);
  const stream = file.streams[streamIndex]!;
  const descriptor = stream.descriptor;
  if (!descriptor) throw new DecoderNeeded(MIME, 'MXF sound track without a descriptor');
  const bits = pcmBits(descriptor);
  const sampleRate = sampleRateOf(descriptor);
  const channels = descriptor.channels;
  if (channels <= 0 || channels >= 512) throw new DecoderNeeded(MIME, `MXF sound descriptor with ${channels} channels`);
  const samples = await decodedSamples(file, streamIndex, { channels, bytesPerSample: bits / 8, clipWrapped: isClipWrapped(file, descriptor) });
  const duration = samples / sampleRate;
  checkAgainstDeclared(duration, formatDuration(file.streams));
  return { mime: MIME, codec: 'pcm', sampleRate, channels, bitDepth: bits, duration };
}

function matches(ul: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, i) => i === 7 || ul[i] === byte);
}

/**
 * The PCM sample size the codec id decodes at: ff_mxf_codec_uls' uncompressed sound entries
 * (little-endian 00 / 7F, big-endian 7E), else the BWF/AES3 (06) or D-10 (01) essence container;
 * pcm_s16 becomes s24 for 17-24 quantization bits and s32 for 32.
 */
function pcmBits(descriptor: Descriptor): number {
  const coding = descriptor.essenceCoding;
  if (coding) {
    const uncompressed = matches(coding, [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x00, 0x04, 0x02, 0x02, 0x01]) && [0x00, 0x7f, 0x7e].includes(coding[12]!);
    if (!uncompressed) throw new DecoderNeeded(MIME, 'MXF sound essence compression other than uncompressed PCM');
  } else {
    const container = descriptor.essenceContainer;
    const pcmContainer = container && matches(container, [0x06, 0x0e, 0x2b, 0x34, 0x04, 0x01, 0x01, 0x00, 0x0d, 0x01, 0x03, 0x01, 0x02]) && [0x06, 0x01].includes(container[13]!);
    if (!pcmContainer) throw new DecoderNeeded(MIME, 'MXF sound essence container other than BWF, AES3 or D-10');
  }
  const quantization = descriptor.bitsPerSample;
  if (quantization > 16 && quantization <= 24) return 24;
  return quantization === 32 ? 32 : 16;
}

function sampleRateOf(descriptor: Descriptor): number {
  const rate = descriptor.sampleRate;
  if (!rate || rate.den <= 0 || rate.num <= 0) throw new DecoderNeeded(MIME, 'MXF sound descriptor without a valid sample rate');
  // codecpar->sample_rate = num / den, in integers.
  return Math.floor(rate.num / rate.den);
}

/** mxf_get_wrapping_kind for the sound containers (OP-Atom is always clip-wrapped). */
function isClipWrapped(file: MxfFile, descriptor: Descriptor): boolean {
  if (file.operationalPattern === 'opatom') return true;
  const container = descriptor.essenceContainer!;
  // D-10 (13 = 01) carries sound in the frame-wrapped content package; BWF/AES3 say so in byte 14.
  if (container[13] === 0x01) return false;
  const indicator = container[14] === 0x03 || container[14] === 0x04 ? container[14] - 2 : container[14];
  if (indicator === 0x01) return false;
  if (indicator === 0x02) return true;
  throw new DecoderNeeded(MIME, 'MXF sound essence of unknown wrapping');
}

interface PcmLayout {
  channels: number;
  bytesPerSample: number;
  clipWrapped: boolean;
}

async function decodedSamples(file: MxfFile, streamIndex: number, layout: PcmLayout): Promise<number> {
  const elements: Klv[] = [];
  for (const range of file.essence) {
    for await (const element of essenceElements(file.source, range.start, range.end, ELEMENTS_WALKED)) {
      if (streamOfElement(file, element.key, range.bodySid) === streamIndex) elements.push(element);
    }
  }
  // Empty elements decode to nothing however the demuxer cuts them.
  if (layout.clipWrapped && elements.some((element) => element.length > 0)) checkClipPacketization(file, file.streams[streamIndex]!, layout);
  return elements.reduce((sum, element) => sum + elementSamples(element, layout), 0);
}

/** Sample frames the PCM decoder outputs for one element (pcm_decode_frame drops a partial frame). */
function elementSamples(element: Klv, layout: PcmLayout): number {
  const isD10Aes3 = element.key[12] === 0x06 && element.key[13] === 0x01 && element.key[14] === 0x10;
  if (!isD10Aes3) return Math.floor(element.length / (layout.channels * layout.bytesPerSample));
  if (element.length > D10_AES3_MAX || layout.channels > 8) throw new DecoderNeeded(MIME, 'D-10 AES3 element the demuxer refuses');
  // mxf_get_d10_aes3_packet: after a 4-byte header, 32 bytes per sample frame, of which it takes 4 per channel.
  const body = element.length - 4;
  return body >= layout.channels * 4 ? Math.floor((body - layout.channels * 4) / 32) + 1 : 0;
}

/**
 * Clip-wrapped PCM is cut into packets at edit unit boundaries of the index (or of the index
 * mxf_handle_missing_index_segment makes up); they hold whole sample frames only when the edit
 * unit is a whole number of them.
 */
function checkClipPacketization(file: MxfFile, stream: MxfStream, layout: PcmLayout): void {
  const frame = layout.channels * layout.bytesPerSample;
  const segments = file.indexSegments.filter((segment) => segment.bodySid === stream.bodySid);
  if (segments.length > 0) {
    if (segments.some((segment) => segment.editUnitByteCount <= 0 || segment.editUnitByteCount % frame !== 0)) {
      throw new DecoderNeeded(MIME, 'clip-wrapped MXF sound whose index edit units split sample frames');
    }
    return;
  }
  const partitions = file.essence.filter((range) => range.bodySid === stream.bodySid).length;
  if (partitions !== 1 || !stream.duration) throw new DecoderNeeded(MIME, 'clip-wrapped MXF sound without an index ffmpeg can make up');
}

/**
 * decoder.ts's rule for containers whose header states a duration: a decoder that plays clearly
 * less than the header declares means the data ends early; nothing at all is corrupt or truncated.
 */
function checkAgainstDeclared(decoded: number, declared: number | undefined): void {
  if (decoded === 0) throw new ProbeError(declared ? 'truncated' : 'corrupt_file', 'the decoder produced no audio from the file');
  if (declared === undefined) return;
  if (declared - decoded > Math.max(0.5, 0.005 * declared)) {
    throw new ProbeError('truncated', `the header declares ${declared.toFixed(3)} s, the decoder plays ${decoded.toFixed(3)} s`);
  }
}
