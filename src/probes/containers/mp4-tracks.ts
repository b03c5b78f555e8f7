/**
 * Whether ffprobe 5.1 opens an MP4/QuickTime file, judged from all its parsed tracks: the video
 * reader asks for files with no video track (the audio probe answers them next, so only ffprobe's
 * refusal is left to reproduce), the audio reader for every file, since it measures one track and
 * ffprobe reads them all. FFmpeg's mov demuxer (libavformat/mov.c, mov_read_trak and the
 * table readers it calls) fails the whole header read for some damage in any trak (a second
 * stsd, an stsc that overruns its box, an stsc naming chunks the stco lacks), reads on past
 * other damage leaving only that track without packets (a trak missing a mandatory table, an
 * stsz too short for its fields), and ffprobe then exits when a stream's decoder will not open.
 */
import { ProbeError } from '../../errors.js';
import { NeedsFfprobe } from './facts.js';
import type { Mp4Movie, Mp4SampleToChunk, Mp4Track } from './mp4.js';

/**
 * What ffprobe makes of the file's tracks: `refused` when it surely refuses the file, `unsure` when
 * a track holds damage whose effect is not modelled, undefined when every track opens.
 */
export function trackOpening(movie: Mp4Movie): { refused: string } | { unsure: string } | undefined {
  for (const track of movie.tracks) {
    const refusal = trackRefusal(track);
    if (refusal) return { refused: `track ${track.index}: ${refusal}` };
  }
  for (const track of movie.tracks) {
    const unsure = track.anomalies.find((anomaly) => anomaly.effect === 'unknown');
    if (unsure) return { unsure: `track ${track.index}: ${unsure.message}` };
    if (trakChecks(track) === 'unsure') return { unsure: `track ${track.index}: stsc and stco disagree unless stsd sets a sample size` };
  }
  return undefined;
}

/** For a file with no video track: throws corrupt_file when ffprobe surely refuses it, NeedsFfprobe when that is not known. */
export function requireOpensWithoutVideo(movie: Mp4Movie, name: string): void {
  const opening = trackOpening(movie);
  if (opening && 'refused' in opening) throw new ProbeError('corrupt_file', `${name}: ffprobe cannot open ${opening.refused}`);
  if (opening) throw new NeedsFfprobe(opening.unsure);
}

/**
 * Why FFmpeg refuses the file because of this track, if it surely does. Damage not modelled
 * elsewhere in the track leaves mov_read_trak's own checks unjudged (the tables it compares may
 * not be what FFmpeg read); it cannot save the file from a refusal found in its boxes, since
 * FFmpeg reads on to the end of every box whatever it made of it.
 */
function trackRefusal(track: Mp4Track): string | undefined {
  const refused = track.anomalies.find((anomaly) => anomaly.effect === 'refused');
  if (refused) return refused.message;
  if (track.anomalies.some((anomaly) => anomaly.effect === 'unknown')) return undefined;
  return trakChecks(track) === 'refused' ? 'stsc names chunks the stco lacks' : undefined;
}

/**
 * mov_read_trak's sanity checks after the tables are read: a track missing a mandatory table is
 * kept without packets ("missing mandatory atoms"); otherwise an stsc whose last entry starts past
 * the chunk count fails the file ("contradictionary STSC and STCO"). Whether a mandatory table is
 * missing depends on the sample size, which for uncompressed audio the stsd sets; with none in the
 * stsz, a refusal is only 'unsure'.
 */
function trakChecks(track: Mp4Track): 'kept' | 'refused' | 'unsure' {
  const chunks = track.chunkOffsets.length;
  const sttsEntries = track.timeToSample.length;
  const { constant, count } = track.sampleSize;
  let stsc = repairedSampleToChunk(track.sampleToChunk);
  // "stsc refers to a chunk not described in stco": overlooked when there are no samples at all.
  if (!chunks && !sttsEntries) stsc = [];
  if ((chunks && (!sttsEntries || !stsc.length)) || (!chunks && count)) return 'kept';
  const contradiction = stsc.length > 0 && stsc[stsc.length - 1]!.firstChunk > chunks;
  if (!contradiction) return 'kept';
  return chunks && !constant && !count ? 'unsure' : 'refused';
}

const INT_MAX = 0x7fffffff;

/**
 * mov_read_stsc's repair of invalid entries, from the last to the first: an entry out of order,
 * before its own index, or with a zero count or description index takes the next entry's values
 * (one chunk earlier); the last is patched in place, or dropped when its count is 0. Fields are
 * the C ints FFmpeg keeps them in.
 */
function repairedSampleToChunk(entries: Mp4SampleToChunk[]): { firstChunk: number; samplesPerChunk: number; descriptionIndex: number }[] {
  const stsc = entries.map((entry) => ({ firstChunk: entry.firstChunk | 0, samplesPerChunk: entry.samplesPerChunk | 0, descriptionIndex: entry.descriptionIndex | 0 }));
  let count = stsc.length;
  for (let i = count - 1; i >= 0; i--) {
    const entry = stsc[i]!;
    const next = i + 1 < count ? stsc[i + 1] : undefined;
    const previous = i > 0 ? stsc[i - 1] : undefined;
    const firstMin = i + 1;
    const invalid = (next && entry.firstChunk >= next.firstChunk) || (previous && entry.firstChunk <= previous.firstChunk)
      || entry.firstChunk < firstMin || entry.samplesPerChunk < 1 || entry.descriptionIndex < 1;
    if (!invalid) continue;
    if (!next) {
      if (entry.samplesPerChunk === 0 && i > 0) {
        count--;
        continue;
      }
      entry.firstChunk = Math.max(entry.firstChunk, firstMin);
      if (previous && entry.firstChunk <= previous.firstChunk) entry.firstChunk = Math.min(previous.firstChunk + 1, INT_MAX);
      entry.samplesPerChunk = Math.max(entry.samplesPerChunk, 1);
      entry.descriptionIndex = Math.max(entry.descriptionIndex, 1);
      continue;
    }
    Object.assign(entry, { firstChunk: next.firstChunk - 1, samplesPerChunk: next.samplesPerChunk, descriptionIndex: next.descriptionIndex });
  }
  return stsc.slice(0, count);
}

/** Sample formats FFmpeg reads as text, subtitles, timecode or data, which no handler makes audio. */
const NEVER_AUDIO_FORMATS = new Set([
  'text', 'tx3g', 'wvtt', 'stpp', 'c608', 'c708', 'tmcd', 'rtp ', 'mp4s', 'mett', 'metx', 'mebx', 'gpmd', 'camm', 'fdsc', 'rtmd',
  'sbtt', 'stxt', 'dfxp', 'hint', 'urim',
]);

/**
 * Whether FFmpeg may make the track an audio stream: the last of its 'vide', 'soun', 'subp' and
 * 'clcp' handlers sets the type (mov_read_hdlr), and a track not typed video takes an audio
 * type from its sample format (mov_codec_id), whatever its handler.
 */
export function mayBeAudioStream(track: Mp4Track): boolean {
  const typing = track.handlers.filter((handler) => ['vide', 'soun', 'subp', 'clcp'].includes(handler)).at(-1);
  if (typing === 'vide') return false;
  if (typing === 'soun') return true;
  const format = track.sampleEntries[0]?.format;
  return format !== undefined && !NEVER_AUDIO_FORMATS.has(format);
}
