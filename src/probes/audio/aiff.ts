import { ProbeError } from '../../errors.js';
import { ascii, readExactly, startsWith, u16be, u32be, view } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { checkStreamShape, G711, linearPcm, pcmDuration, type PcmLayout } from './pcm.js';

/**
 * AIFF and AIFF-C as ffmpeg's aiff demuxer reads them: COMM gives the format, the SSND chunk's
 * size (not COMM's frame count) gives the length decoded. PCM, float and G.711 are measured
 * here; compressed AIFF-C codecs are left to the decoder.
 */

const MIME = 'audio/aiff';

export function isAiff(head: Uint8Array): boolean {
  return startsWith(head, 'FORM') && (startsWith(head, 'AIFF', 8) || startsWith(head, 'AIFC', 8));
}

interface Chunk {
  id: string;
  body: number;
  size: number;
}

export async function readAiff(input: AudioInput): Promise<AudioFacts> {
  const size = await input.size();
  const formEnd = Math.min(8 + u32be(input.head, 4), size);
  const chunks = await listChunks(input, formEnd, size);
  const comm = chunks.find((c) => c.id === 'COMM');
  const ssnd = chunks.find((c) => c.id === 'SSND');
  if (!comm) throw new ProbeError('corrupt_file', 'AIFF file without a COMM chunk');
  const common = parseComm(await readExactly(input.source, comm.body, Math.min(comm.size, 64), 'AIFF COMM chunk'), comm.size, startsWith(input.head, 'AIFC', 8));
  if (!ssnd) throw new ProbeError('truncated', 'AIFF COMM chunk declares sound data, but the file has no SSND chunk');
  if (ssnd.size < 8) throw new ProbeError('corrupt_file', `AIFF SSND chunk of ${ssnd.size} bytes`);
  const dataOffset = u32be(await readExactly(input.source, ssnd.body, 4, 'AIFF SSND chunk'), 0);
  const dataBytes = ssnd.size - 8 - dataOffset;
  if (dataBytes < 0) throw new ProbeError('corrupt_file', `AIFF SSND data offset ${dataOffset} is past the chunk's end`);
  return {
    mime: MIME,
    codec: common.pcm.codec,
    sampleRate: common.sampleRate,
    channels: common.channels,
    bitDepth: common.pcm.bitDepth,
    duration: pcmDuration(dataBytes, common.pcm, common.channels, common.sampleRate),
  };
}

/** The chunks inside the FORM. A COMM or SSND chunk that runs past the end of the file is truncation; another such chunk ends the list. */
async function listChunks(input: AudioInput, formEnd: number, size: number): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  for (let offset = 12; offset + 8 <= formEnd; ) {
    const header = await readExactly(input.source, offset, 8, 'AIFF chunk header');
    const chunk = { id: ascii(header, 0), body: offset + 8, size: u32be(header, 4) };
    if (chunk.body + chunk.size > size) {
      if (chunk.id !== 'COMM' && chunk.id !== 'SSND') break;
      throw new ProbeError('truncated', `AIFF ${chunk.id} chunk at byte ${offset} declares ${chunk.size} bytes, the file holds ${size - chunk.body}`);
    }
    chunks.push(chunk);
    offset = chunk.body + chunk.size + (chunk.size & 1);
  }
  return chunks;
}

interface Common {
  channels: number;
  sampleRate: number;
  pcm: PcmLayout;
}

function parseComm(comm: Uint8Array, declared: number, aifc: boolean): Common {
  if (declared < 18 || comm.byteLength < 18) throw new ProbeError('corrupt_file', `AIFF COMM chunk of ${declared} bytes is too short`);
  const channels = u16be(comm, 0);
  const bits = u16be(comm, 6);
  const sampleRate = Math.trunc(extendedFloat(comm, 8));
  checkStreamShape('AIFF', channels, sampleRate);
  const compression = aifc && declared >= 22 && comm.byteLength >= 22 ? ascii(comm, 18) : 'NONE';
  return { channels, sampleRate, pcm: layoutFor(compression, bits) };
}

/** IEEE 754 80-bit extended (the sample rate field), as ffmpeg computes it. */
function extendedFloat(bytes: Uint8Array, offset: number): number {
  const exponent = u16be(bytes, offset) & 0x7fff;
  const mantissa = Number(view(bytes).getBigUint64(offset + 2, false));
  return mantissa * 2 ** (exponent - 16383 - 63);
}

/** ffmpeg's ff_codec_aiff_tags for the uncompressed types; 'NONE'/'twos' take their size from COMM. */
function layoutFor(compression: string, bits: number): PcmLayout {
  const layout =
    compression === 'NONE' || compression === 'twos' ? (bits >= 1 && bits <= 32 ? linearPcm(bits, false) : undefined) :
    compression === 'sowt' && bits === 16 ? linearPcm(16, false) :
    compression === 'in24' ? linearPcm(24, false) :
    compression === 'in32' ? linearPcm(32, false) :
    compression === 'raw ' ? linearPcm(8, false) :
    compression === 'fl32' ? linearPcm(32, true) :
    compression === 'fl64' ? linearPcm(64, true) :
    compression === 'alaw' || compression === 'ALAW' ? G711.alaw :
    compression === 'ulaw' || compression === 'ULAW' ? G711.mulaw :
    undefined;
  if (!layout) throw new DecoderNeeded(MIME, `AIFF-C compression '${compression}' with ${bits} bits per sample`);
  return layout;
}
