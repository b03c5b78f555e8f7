import { ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import { isAc3At, readAc3 } from './audio/ac3.js';
import { isAmr, readAmr } from './audio/amr.js';
import { isAdtsAt, readAdts } from './audio/adts.js';
import { isAdtsWithoutRate, readRatelessAdts } from './audio/adts-rateless.js';
import { isAiff, readAiff } from './audio/aiff.js';
import { readApe } from './audio/ape.js';
import { startsWith } from './audio/bytes.js';
import { decodeWithFfprobe } from './audio/decoder.js';
import { isDff, readDff } from './audio/dff.js';
import { readDsf } from './audio/dsf.js';
import { DecoderNeeded, type AudioFacts, type AudioInput, type AudioReader } from './audio/facts.js';
import { readFlac } from './audio/flac.js';
import { readMatroska } from './audio/matroska.js';
import { isMpegAudioAfterJunk, isMpegAudioAt, PROBE_BUF_MAX, readMpeg } from './audio/mpeg.js';
import { isMpegTs, readMpegTs } from './audio/mpegts.js';
import { isMusepackBeforeSv7, readMusepack } from './audio/musepack.js';
import { isMp4, readMp4 } from './audio/mp4.js';
import { readOgg } from './audio/ogg.js';
import { isId3v2, skipLeadingId3v2 } from './audio/tags.js';
import { readShorten } from './audio/shorten.js';
import { readTak } from './audio/tak.js';
import { isTta, readTta } from './audio/tta.js';
import { isWav, readWav } from './audio/wav.js';
import { readAsfAudio } from './audio/wma.js';
import { isMxf, readMxf } from './audio/mxf.js';
import { readRealMediaAudio } from './audio/realaudio.js';
import { isAsf } from './containers/asf.js';
import { isRealMedia } from './containers/realmedia.js';
import { readWavpack } from './audio/wavpack.js';
import type { Probe, ProbeContext, ProbeWarning } from './types.js';

/**
 * Audio metadata per SPEC: WAV/RF64/W64, AIFF, FLAC, MPEG audio, ADTS, Ogg, MP4, Matroska/WebM,
 * DSF, DSDIFF, APE, WavPack, TTA, raw AC-3/E-AC-3 and in MPEG-TS, AMR, WMA v1/v2, RealAudio,
 * TAK, Shorten and MXF sound are read in-process from their headers and frame structure, to the
 * length ffmpeg's decoder plays (AAC at 24 kHz or less has its first frame walked for SBR);
 * files ffmpeg surely opens and then cannot read are refused here as ffprobe would refuse them.
 * Everything else, and whatever those readers find that only a decoder can measure (Musepack,
 * WMA Pro/Lossless, damaged streams), goes to ffprobe, whose decoded frames are counted.
 */

/** Enough for every signature and the ID3v2 tags most files start with. */
const HEAD_BYTES = 64 * 1024;

/** What Encord plays (SPEC): MP3, WAV, FLAC, and MP4/M4A. */
const ENCORD_PLAYS = new Set(['audio/mpeg', 'audio/wav', 'audio/flac', 'audio/mp4']);

export const probeAudio: Probe<'audio'> = async (source, context) => {
  const head = await source.read(0, HEAD_BYTES);
  if (head.byteLength === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  const input = audioInput(source, head, context);
  const { facts, reader, fallback } = await describe(input);
  const metadata = {
    duration: facts.duration,
    file_size: await input.size(),
    mime_type: facts.mime,
    sample_rate: facts.sampleRate,
    bit_depth: facts.bitDepth,
    codec: facts.codec,
    num_channels: facts.channels,
  };
  return { metadata, warnings: encordWarnings(facts.mime), details: { reader, ...(fallback ? { fallback } : {}) } };
};

function audioInput(source: ByteSource, head: Uint8Array, context: ProbeContext): AudioInput {
  let size: Promise<number> | undefined;
  return { source, head, options: context.options, detection: context.detection, size: () => (size ??= source.size()) };
}

/**
 * The facts and what measured them: an in-process reader's name, or 'ffprobe' with why the
 * in-process readers could not (`fallback`, for the benchmark's breakdown).
 */
async function describe(input: AudioInput): Promise<{ facts: AudioFacts; reader: string; fallback?: string }> {
  const reader = await readerFor(input);
  try {
    const name = READER_NAMES.get(reader)!;
    return { facts: await reader(input), reader: name, ...(reader === decodeWithFfprobe ? { fallback: 'no in-process reader' } : {}) };
  } catch (error) {
    if (error instanceof DecoderNeeded) return { facts: await decodeWithFfprobe(input, error), reader: 'ffprobe', fallback: error.message };
    if (error instanceof ProbeError) throw error;
    // A reader that trips over bytes it did not expect must not guess: the file is damaged.
    throw new ProbeError('corrupt_file', `${input.source.name}: ${(error as Error).message}`, { cause: error });
  }
}

/** Matroska and WebM start with an EBML header element. */
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/** Formats recognised by signature that hold no stream ffmpeg plays back: [what, offset, magic]. */
const UNDECODABLE: [string, number, string][] = [
  ['an XM tracker module', 0, 'Extended Module: '],
  ['an IT tracker module', 0, 'IMPM'],
  ['an S3M tracker module', 44, 'SCRM'],
  ['a MOD tracker module', 1080, 'M.K.'],
  ['an OptimFROG file', 0, 'OFR '],
  ['a bare APEv2 tag', 0, 'APETAGEX'],
  ['an ADIF AAC stream (ffmpeg has no ADIF demuxer)', 0, 'ADIF'],
];

const READER_NAMES = new Map<AudioReader, string>([
  [readWav, 'wav'], [readAiff, 'aiff'], [readFlac, 'flac'], [readOgg, 'ogg'], [readMp4, 'mp4'], [readDsf, 'dsf'], [readDff, 'dff'], [readAmr, 'amr'], [readTta, 'tta'], [readMpegTs, 'mpegts'],
  [readAsfAudio, 'asf'], [readRealMediaAudio, 'rm'], [readMatroska, 'matroska'], [readMpeg, 'mpeg'], [readAdts, 'adts'], [readRatelessAdts, 'adts'], [readAc3, 'ac3'], [readApe, 'ape'], [readWavpack, 'wavpack'],
  [readMusepack, 'musepack'], [readTak, 'tak'], [readShorten, 'shorten'],
  [readMxf, 'mxf'],
  [decodeWithFfprobe, 'ffprobe'],
]);

/** Chooses the reader by signature; files that start with ID3v2 tags by what follows them. */
async function readerFor(input: AudioInput): Promise<AudioReader> {
  const { head } = input;
  if (isWav(head)) return readWav;
  if (isAiff(head)) return readAiff;
  if (startsWith(head, 'OggS')) return readOgg;
  if (isMp4(head)) return readMp4;
  if (startsWith(head, 'DSD ')) return readDsf;
  if (isDff(head)) return readDff;
  if (isAmr(head)) return readAmr;
  if (isTta(head)) return readTta;
  if (isMpegTs(head)) return readMpegTs;
  if (startsWith(head, EBML_MAGIC)) return readMatroska;
  if (isAsf(head)) return readAsfAudio;
  if (isRealMedia(head)) return readRealMediaAudio;
  if (isMxf(head)) return readMxf;
  const taggable = readerAfterTags(head);
  if (taggable) return taggable;
  if (startsWith(head, 'MThd') || (startsWith(head, 'RIFF') && startsWith(head, 'RMID', 8))) {
    throw new ProbeError('no_audio_stream', 'a MIDI file holds notes, not sampled audio');
  }
  const undecodable = UNDECODABLE.find(([, offset, magic]) => startsWith(head, magic, offset));
  if (undecodable) throw new ProbeError('unsupported_format', `${undecodable[0]}: no audio stream a player decodes`);
  if (isId3v2(head)) return readerAfterId3v2(input);
  if (isMpegAudioAt(head, 0)) return readMpeg;
  if (isAc3At(head, 0)) return readAc3;
  if (isAdtsWithoutRate(head)) return readRatelessAdts;
  if (isMusepackBeforeSv7(head, input.source.extension)) throw new ProbeError('unsupported_format', 'Musepack SV4-SV6: ffmpeg reads SV7 and SV8 only');
  if (isMpegAudioAfterJunk(head, input.source.extension)) return readMpeg;
  return decodeWithFfprobe;
}

/** Formats whose readers skip leading ID3v2 tags themselves, by the signature after them. */
function readerAfterTags(bytes: Uint8Array): AudioReader | undefined {
  if (startsWith(bytes, 'fLaC')) return readFlac;
  if (startsWith(bytes, 'MAC ')) return readApe;
  if (startsWith(bytes, 'wvpk')) return readWavpack;
  if (isAdtsAt(bytes, 0)) return readAdts;
  if (startsWith(bytes, 'MP+') || startsWith(bytes, 'MPCK')) return readMusepack;
  if (startsWith(bytes, 'tBaK')) return readTak;
  if (startsWith(bytes, 'ajkg')) return readShorten;
  return undefined;
}

/** Signatures of containers that some taggers put behind an ID3v2 tag; ffmpeg's probe prefers them to MPEG audio. */
const AFTER_ID3V2 = ['TTA1', 'OggS', 'RIFF', 'FORM', 'FRM8', 'DSD ', '#!AMR', '.RMF'];

async function readerAfterId3v2(input: AudioInput): Promise<AudioReader> {
  const { end, count } = await skipLeadingId3v2(input.source, input.head);
  const next = await input.source.read(end, 8);
  if (next.byteLength === 0) throw new ProbeError('no_audio_stream', 'ID3v2 tags and no audio after them');
  const taggable = readerAfterTags(next);
  // ffmpeg's probe skips one ID3v2 tag that fits its buffer (PROBE_BUF_MAX); a signature behind
  // a second tag or a larger one is not seen, and ffprobe decides what the file is (MPEG audio
  // and ADTS are found by scanning, so their readers go on).
  const hidden = count > 1 || end + 16 > PROBE_BUF_MAX;
  if (taggable && hidden && taggable !== readAdts) return decodeWithFfprobe;
  if (taggable) return taggable;
  if (AFTER_ID3V2.some((magic) => startsWith(next, magic))) return decodeWithFfprobe;
  // ffmpeg looks for MPEG audio after the tags (skipping junk) before it tries other formats.
  return readMpeg;
}

function encordWarnings(mime: string): ProbeWarning[] {
  if (ENCORD_PLAYS.has(mime)) return [];
  return [{ code: 'unsupported_by_encord', message: `Encord does not play ${mime} audio` }];
}
