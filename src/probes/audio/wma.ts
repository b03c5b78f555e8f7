import { ProbeError } from '../../errors.js';
import { checkAsfSize, parseAsf, walkAsfObjects, type AsfWaveFormat } from '../containers/asf.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';

/**
 * Audio in ASF (.wma/.asf audio-only), the first audio stream. WMA v1/v2 are measured in-process:
 * FFmpeg's wmadec outputs, per block_align superframe, the frames its header counts (at the very
 * start one less: the frame it holds back in its bit reservoir), drops the first two frames and
 * outputs one more when drained, so the header nibble of every superframe gives the decoded
 * length exactly. Packets that are not one block_align superframe each, descrambled (spread)
 * audio, a frame spanning whole superframes (which makes the decoder reset its reservoir), other
 * codecs (WMA Pro, Lossless, Voice, ...) and files the ASF walk does not model go to the decoder.
 */

const MIME = 'audio/x-ms-wma';

const CODEC_BY_TAG = new Map<number, string>([
  [0x160, 'wmav1'],
  [0x161, 'wmav2'],
  [0x162, 'wmapro'],
  [0x163, 'wmalossless'],
  [0x0a, 'wmavoice'],
]);

/** libavcodec/wma.h MAX_CODED_SUPERFRAME_SIZE. */
const MAX_CODED_SUPERFRAME_SIZE = 32768;
/** libavcodec/get_bits.h MIN_CACHE_BITS: ff_wma_init refuses wider bit offsets. */
const MIN_CACHE_BITS = 25;

export function readAsfAudio(input: AudioInput): Promise<AudioFacts> {
  return DecoderNeeded.ifContainerUnsure(MIME, () => measure(input));
}

async function measure(input: AudioInput): Promise<AudioFacts> {
  const file = await parseAsf(input.source);
  const stream = file.streams.find((candidate) => candidate.type === 'audio');
  if (!stream?.wave) throw new ProbeError('no_audio_stream', `${input.source.name}: the ASF file declares no audio stream`);
  const codec = CODEC_BY_TAG.get(stream.wave.formatTag);
  if (codec !== 'wmav1' && codec !== 'wmav2') {
    await checkAsfSize(input.source, file); // a cut file is truncated before the decoder sees it
    throw new DecoderNeeded(MIME, `ASF audio codec ${codec ?? `tag 0x${stream.wave.formatTag.toString(16)}`}`);
  }
  // The demuxer reorders a spread stream's packets in chunks: superframe headers are not where read.
  if (stream.descrambled) throw new DecoderNeeded(MIME, 'WMA audio spread over packets (descrambled by the demuxer)');
  const decoder = new WmaSuperframes(stream.wave, codec === 'wmav1' ? 1 : 2);
  await walkAsfObjects(input.source, file, new Set([stream.number]), (object) => {
    if (object.stream !== stream) return;
    // A lost object breaks the bit reservoir: what the decoder then drops needs the decoder.
    if (object.afterGap) throw new DecoderNeeded(MIME, 'WMA media objects missing (numbers skip)');
    decoder.decodePacket(object.data!);
  });
  const { sampleRate, channels } = stream.wave;
  return { mime: MIME, codec, sampleRate, channels, bitDepth: 32, duration: decoder.playedSamples() / sampleRate };
}

/** ff_wma_get_frame_len_bits for WMA v1/v2. */
function frameLengthBits(sampleRate: number, version: 1 | 2): number {
  if (sampleRate <= 16000) return 9;
  if (sampleRate <= 22050 || (sampleRate <= 32000 && version === 1)) return 10;
  return 11;
}

const log2 = (value: number) => (value > 0 ? Math.floor(Math.log2(value)) : 0);

/** The sample count wmadec's wma_decode_superframe outputs, packet by packet. */
class WmaSuperframes {
  samples = 0;
  private readonly frameLength: number;
  private readonly blockAlign: number;
  private readonly reservoir: boolean;
  /** Width of a superframe's bit offset field (byte_offset_bits + 3). */
  private readonly offsetBits: number;
  /** Whether the decoder holds a frame (or its start) from the previous superframe. */
  private carried = false;

  constructor(wave: AsfWaveFormat, version: 1 | 2) {
    const { sampleRate, channels, blockAlign, bytesPerSecond, extradata } = wave;
    const bitRate = bytesPerSecond * 8 > 2147483647 ? 0 : bytesPerSecond * 8;
    if (sampleRate <= 0 || sampleRate > 50000 || channels <= 0 || channels > 2 || bitRate <= 0 || blockAlign === 0) {
      throw new DecoderNeeded(MIME, `WMA of ${sampleRate} Hz, ${channels} channels, ${bitRate} bit/s, block ${blockAlign}: the decoder refuses it`);
    }
    const flags2 = flagsOf(extradata, version);
    this.reservoir = (flags2 & 2) !== 0;
    this.frameLength = 1 << frameLengthBits(sampleRate, version);
    this.blockAlign = blockAlign;
    // ff_wma_init computes in (volatile) float: bits per sample, then the superframe's byte size.
    const bitsPerSample = Math.fround(Math.fround(bitRate) / Math.fround(channels * sampleRate));
    const byteOffsetBits = log2(Math.trunc(Math.fround(bitsPerSample * this.frameLength) / 8 + 0.5)) + 2;
    if (byteOffsetBits + 3 > MIN_CACHE_BITS) throw new DecoderNeeded(MIME, 'WMA bit offset field too wide for the decoder');
    if (blockAlign * 2 > MAX_CODED_SUPERFRAME_SIZE) throw new DecoderNeeded(MIME, `WMA superframes of ${blockAlign} bytes overflow the decoder's reservoir`);
    this.offsetBits = byteOffsetBits + 3;
  }

  /**
   * What the decoder plays: it drops the first two frames (the MDCT overlap it has no history
   * for) and, drained at the end, outputs one more frame from the overlap it holds.
   */
  playedSamples(): number {
    if (this.samples < 2 * this.frameLength) throw new DecoderNeeded(MIME, 'WMA stream shorter than the decoder delay');
    return this.samples - this.frameLength;
  }

  /**
   * One demuxed packet. The decoder takes block_align bytes of it per call and is called again on
   * the rest; a failing call drops the rest of the packet. So a packet of several block_align
   * pieces (a WAVEFORMATEX whose block align is not the superframe size: 1 in real files) decodes
   * as many frames as its pieces happen to decode, which only the decoder knows; a shorter one is
   * refused whole. Only packets of exactly block_align bytes are counted here.
   */
  decodePacket(packet: Uint8Array): void {
    if (packet.byteLength !== this.blockAlign) {
      throw new DecoderNeeded(MIME, `WMA packet of ${packet.byteLength} bytes with a block align of ${this.blockAlign}`);
    }
    this.decodeSuperframe(packet);
  }

  private decodeSuperframe(superframe: Uint8Array): void {
    if (!this.reservoir) {
      this.samples += this.frameLength;
      return;
    }
    const counted = superframe[0]! & 0x0f;
    const bitOffset = readBits(superframe, 8, this.offsetBits);
    const headerBits = 8 + this.offsetBits;
    const frames = counted - (this.carried ? 0 : 1);
    if (frames <= 0) throw new DecoderNeeded(MIME, 'WMA superframe that only continues a frame');
    if (bitOffset > superframe.byteLength * 8 - headerBits || bitOffset + headerBits >= Math.min(superframe.byteLength * 8, MAX_CODED_SUPERFRAME_SIZE * 8)) {
      throw new DecoderNeeded(MIME, 'WMA superframe bit offset past its end');
    }
    this.samples += frames * this.frameLength;
    this.carried = true;
  }
}

/** flags2 from the codec's extradata (WAVEFORMATEX extension), as wma_decode_init reads it. */
function flagsOf(extradata: Uint8Array, version: 1 | 2): number {
  if (version === 1) return extradata.byteLength >= 4 ? extradata[2]! | (extradata[3]! << 8) : 0;
  return extradata.byteLength >= 6 ? extradata[4]! | (extradata[5]! << 8) : 0;
}

function readBits(bytes: Uint8Array, start: number, count: number): number {
  let value = 0;
  for (let bit = start; bit < start + count; bit++) value = value * 2 + ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
  return value;
}
