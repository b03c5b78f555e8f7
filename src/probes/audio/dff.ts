import { ProbeError } from '../../errors.js';
import { ascii, BlockReader, startsWith, u16be, u32be, u64 } from './bytes.js';
import { DecoderNeeded, type AudioFacts, type AudioInput } from './facts.js';
import { containerMime } from './mime.js';
import { checkStreamShape } from './pcm.js';

/**
 * Philips DSDIFF (.dff) with uncompressed DSD, as ffmpeg's iff demuxer reads it: PROP gives the
 * 1-bit rate (FS), the channels (CHNL) and the compression (CMPR); every byte of the DSD chunk
 * holds 8 samples of one channel, all of which the decoder plays. DST-compressed sound goes to
 * the decoder.
 */

const CHUNK_HEADER = 12;
const FORM_HEADER = 16;
/** A few properties of a few bytes each; more is damage. */
const MAX_PROP_BYTES = 1 << 20;

export const isDff = (head: Uint8Array) => startsWith(head, 'FRM8') && startsWith(head, 'DSD ', 12);

interface Properties {
  sampleRate?: number;
  channels?: number;
  compression?: string;
}

export async function readDff(input: AudioInput): Promise<AudioFacts> {
  const mime = containerMime('iff', input.head, input.detection)!;
  const size = await input.size();
  const reader = new BlockReader(input.source);
  let properties: Properties = {};
  for (let offset = FORM_HEADER; offset + CHUNK_HEADER <= size; ) {
    const header = await reader.bytes(offset, CHUNK_HEADER);
    const id = ascii(header, 0);
    const length = u64(header, 4, false);
    const dataStart = offset + CHUNK_HEADER;
    if (id === 'PROP') {
      if (length > MAX_PROP_BYTES) throw new ProbeError('corrupt_file', `DSDIFF PROP chunk of ${length} bytes`);
      properties = readProperties(await reader.bytes(dataStart, length), length);
    }
    else if (id === 'DSD ') return dsdFacts(mime, properties, length, size - dataStart);
    else if (id === 'DST ') {
      await checkDstFrames(reader, dataStart, dataStart + length, size);
      throw new DecoderNeeded(mime, 'DST-compressed DSDIFF');
    }
    offset = dataStart + length + (length & 1);
  }
  throw new ProbeError('no_audio_stream', 'DSDIFF file without a DSD sound chunk');
}

function dsdFacts(mime: string, properties: Properties, bytes: number, available: number): AudioFacts {
  const { sampleRate, channels, compression } = properties;
  if (sampleRate === undefined || channels === undefined) throw new DecoderNeeded(mime, 'DSDIFF sound before its FS and CHNL properties');
  checkStreamShape('DSDIFF', channels, sampleRate);
  if (compression !== undefined && compression !== 'DSD ') throw new DecoderNeeded(mime, `DSDIFF compression '${compression}'`);
  if (bytes > available) throw new ProbeError('truncated', `DSDIFF DSD chunk declares ${bytes} bytes, the file holds ${available}`);
  if (bytes === 0) throw new ProbeError('corrupt_file', 'the DSDIFF DSD chunk holds no sound');
  if (bytes % channels !== 0) throw new DecoderNeeded(mime, `DSDIFF DSD chunk of ${bytes} bytes for ${channels} channels`);
  return { mime, codec: 'dsd_msbf', sampleRate, channels, bitDepth: 1, duration: ((bytes / channels) * 8) / sampleRate };
}

/**
 * iff.c's read_dst_frame as iff_read_header calls it: the DST chunk's local chunks are walked to
 * the first DSTF (a frame), and the file cannot be opened when the chunk ends first (AVERROR_EOF)
 * or a local chunk declares no bytes, or an FRTE fewer than 4 (AVERROR_INVALIDDATA). A walk that
 * runs out of file first is left to ffmpeg.
 */
async function checkDstFrames(reader: BlockReader, start: number, end: number, size: number): Promise<void> {
  for (let offset = start; ; ) {
    if (offset >= end) throw new ProbeError('corrupt_file', 'the DSDIFF DST chunk holds no DST frame (DSTF): ffmpeg cannot open it');
    if (offset + CHUNK_HEADER > size) return;
    const header = await reader.bytes(offset, CHUNK_HEADER);
    const id = ascii(header, 0);
    const length = u64(header, 4, false);
    if (length < 1 || (id === 'FRTE' && length < 4)) throw new ProbeError('corrupt_file', `DSDIFF DST local chunk '${id}' of ${length} bytes`);
    if (id === 'DSTF') return;
    offset += CHUNK_HEADER + length + (length & 1);
  }
}

/** The PROP chunk's sound properties ('SND ' followed by local chunks). */
function readProperties(data: Uint8Array, length: number): Properties {
  if (data.byteLength < length || !startsWith(data, 'SND ')) throw new ProbeError('corrupt_file', 'DSDIFF PROP chunk is not a sound property chunk');
  const properties: Properties = {};
  for (let p = 4; p + CHUNK_HEADER <= length; ) {
    const id = ascii(data, p);
    const size = u64(data, p + 4, false);
    const body = p + CHUNK_HEADER;
    if (body + size > length) throw new ProbeError('corrupt_file', `DSDIFF property '${id}' runs past its PROP chunk`);
    if (id === 'FS  ' && size >= 4) properties.sampleRate = u32be(data, body);
    else if (id === 'CHNL' && size >= 2) properties.channels = u16be(data, body);
    else if (id === 'CMPR' && size >= 4) properties.compression = ascii(data, body);
    p = body + size + (size & 1);
  }
  return properties;
}
