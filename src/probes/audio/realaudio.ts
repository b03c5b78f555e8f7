import { ProbeError } from '../../errors.js';
import { parseRealMedia, walkRealMediaPackets, type RealMediaStream } from '../containers/realmedia.js';
import { isIntact, parseSyncFrame, sameLayout, type SyncFrame } from './ac3.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';

/**
 * Audio in RealMedia, the first audio stream, for the codecs whose decoded length follows from
 * the packets alone: RealAudio 1.0 (ra_144: 160 samples per 20-byte frame) and AC-3 ('dnet',
 * byte-swapped; every frame whole and CRC-checked, 1536 samples each), both without an
 * interleaver. Cook, ATRAC3, SIPR, RealAudio 2.0, AAC and interleaved streams go to the decoder.
 */

const MIME = 'audio/x-pn-realaudio';
const RA144_FRAME_BYTES = 20;
const RA144_FRAME_SAMPLES = 160;

export function readRealMediaAudio(input: AudioInput): Promise<AudioFacts> {
  return DecoderNeeded.ifContainerUnsure(MIME, () => measure(input));
}

async function measure(input: AudioInput): Promise<AudioFacts> {
  const file = await parseRealMedia(input.source);
  const stream = file.streams.find((candidate) => candidate.type === 'audio');
  if (!stream?.audio) throw new ProbeError('no_audio_stream', `${input.source.name}: the RealMedia file declares no audio stream`);
  const { fourcc, interleaver, version } = stream.audio;
  if (interleaver !== 'Int0') throw new DecoderNeeded(MIME, `RealAudio interleaver ${interleaver}`);
  const payloads: Uint8Array[] = [];
  await walkRealMediaPackets(input.source, file, new Set([stream.id]), ({ stream: owner, payload }) => {
    if (owner === stream) payloads.push(payload!.slice());
  });
  if (version === 3 || fourcc === 'lpcJ') return ra144Facts(stream, payloads);
  if (fourcc === 'dnet') return ac3Facts(payloads);
  throw new DecoderNeeded(MIME, `RealAudio codec ${fourcc}`);
}

/** The ra_144 decoder takes 20 bytes per call and plays 160 samples from each. */
function ra144Facts(stream: RealMediaStream, payloads: Uint8Array[]): AudioFacts {
  if (payloads.some((payload) => payload.byteLength % RA144_FRAME_BYTES !== 0)) throw new DecoderNeeded(MIME, 'RealAudio 1.0 packet of partial frames');
  const frames = payloads.reduce((sum, payload) => sum + payload.byteLength / RA144_FRAME_BYTES, 0);
  if (frames === 0) throw new ProbeError('corrupt_file', 'the RealAudio stream holds no frame');
  const { sampleRate, channels } = stream.audio!;
  if (sampleRate !== 8000 || channels !== 1) throw new DecoderNeeded(MIME, `RealAudio 1.0 declared at ${sampleRate} Hz, ${channels} channels`);
  return { mime: MIME, codec: 'ra_144', sampleRate, channels, bitDepth: 16, duration: (frames * RA144_FRAME_SAMPLES) / sampleRate };
}

/** 'dnet' packets hold AC-3 with the bytes of each 16-bit word swapped; the parser and decoder see the swapped-back stream. */
function ac3Facts(payloads: Uint8Array[]): AudioFacts {
  if (payloads.some((payload) => payload.byteLength % 2 !== 0)) throw new DecoderNeeded(MIME, 'AC-3 packet of an odd length');
  const stream = swapWords(payloads);
  let first: SyncFrame | undefined;
  let samples = 0;
  for (let offset = 0; offset < stream.byteLength; ) {
    const frame = parseSyncFrame(stream.subarray(offset), MIME);
    if (!frame || offset + frame.size > stream.byteLength || !isIntact(stream.subarray(offset, offset + frame.size))) {
      throw new DecoderNeeded(MIME, `RealMedia AC-3 stream is not whole intact frames at byte ${offset}`);
    }
    first ??= frame;
    if (!sameLayout(frame, first) || frame.codec !== 'ac3') throw new DecoderNeeded(MIME, 'RealMedia AC-3 stream changes layout');
    samples += frame.samples;
    offset += frame.size;
  }
  if (!first) throw new ProbeError('corrupt_file', 'the RealMedia AC-3 stream holds no frame');
  return { mime: MIME, codec: 'ac3', sampleRate: first.sampleRate, channels: first.channels, bitDepth: 32, duration: samples / first.sampleRate };
}

function swapWords(payloads: Uint8Array[]): Uint8Array {
  const stream = new Uint8Array(payloads.reduce((sum, payload) => sum + payload.byteLength, 0));
  let at = 0;
  for (const payload of payloads) {
    for (let i = 0; i < payload.byteLength; i += 2) {
      stream[at + i] = payload[i + 1]!;
      stream[at + i + 1] = payload[i]!;
    }
    at += payload.byteLength;
  }
  return stream;
}
