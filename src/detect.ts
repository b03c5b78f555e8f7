import { fileTypeFromBuffer } from 'file-type';
import { ProbeError } from './errors.js';
import { isTextType, typesForExtension } from './mime.js';
import { isProgramStream, TS_PACKET_SIZES, TS_SYNC } from './probes/containers/mpeg-system.js';
import { WTV_SIGNATURE } from './probes/containers/wtv.js';
import { parseMpegHeader } from './probes/audio/mpeg.js';
import { hasDicmPrefix, startsLikeDataSet } from './probes/dicom/detect.js';
import { isGzippedNifti, isNifti } from './probes/nifti.js';
import { isWideBom, looksLikeText, readBom } from './probes/text/encoding.js';
import type { Detection, Modality, ProbeWarning } from './probes/types.js';
import type { ByteSource } from './sources/source.js';

/** file-type's own advice: enough bytes for every signature it knows. */
export const DETECTION_PREFIX_BYTES = 4100;

/** Containers that may hold video or only audio: the streams inside decide the modality. */
const AUDIO_VIDEO_CONTAINERS = new Set([
  'mp4', 'm4v', 'm4a', 'mov', '3gp', '3g2', 'f4v', 'mkv', 'webm', 'ogg', 'ogv', 'oga', 'ogx', 'opus', 'spx',
  'asf', 'wmv', 'wma', 'rm', 'mxf', 'mts', 'mpg', 'flv', 'avi', 'mj2',
]);

/**
 * Containers file-type labels audio/* without knowing the streams inside (an ASF header says
 * nothing about them): the video probe looks first and hands audio-only files to the audio probe.
 */
const STREAMS_UNKNOWN = new Set(['asf']);

/** file-type names an Ogg file by its first stream only. */
const OGG_TYPES = new Set(['ogg', 'oga', 'ogv', 'ogx', 'opus', 'spx']);

/** Identification packets of the video codecs Ogg carries: Theora, Dirac (new and old), VP8, OGM video. */
const OGG_VIDEO_HEADERS = ['\x80theora', 'BBCD\x00', 'KW-DIRAC', 'OVP80', '\x01video'];
/**
 * Identification packets FFmpeg's Ogg demuxer reads as no video: Vorbis, Opus, FLAC (both
 * mappings), Speex, CELT, PCM, OGM audio and text, Kate, Skeleton. Any other opening (the
 * DirectShow OGM header, which may be either, or a codec FFmpeg does not know) leaves the
 * streams unknown.
 */
const OGG_OTHER_HEADERS = ['\x01vorbis', 'OpusHead', '\x7fFLAC', 'fLaC', 'Speex   ', 'CELT    ', 'PCM     ', '\x01audio', '\x01text', '\x80kate', 'fishead\x00'];

/**
 * What the beginning-of-stream pages of an Ogg file open: 'video' when any opens a video stream,
 * 'audio' when every one opens a known stream of another kind, 'unknown' when one opens a codec
 * not listed here or the prefix ends among them. All BOS pages come before
 * any data page, so a video stream muxed after an audio one is still within the prefix.
 */
function oggStreamsKind(prefix: Uint8Array): 'video' | 'audio' | 'unknown' {
  const wholeFile = prefix.byteLength < DETECTION_PREFIX_BYTES; // reads come short only at the end
  for (let page = 0; page + 27 <= prefix.byteLength; ) {
    if (String.fromCharCode(...prefix.subarray(page, page + 4)) !== 'OggS' || !(prefix[page + 5]! & 0x02)) return 'audio';
    const segments = prefix[page + 26]!;
    const bodyStart = page + 27 + segments;
    const bodySize = prefix.subarray(page + 27, bodyStart).reduce((sum, lacing) => sum + lacing, 0);
    const opening = String.fromCharCode(...prefix.subarray(bodyStart, bodyStart + 8));
    if (OGG_VIDEO_HEADERS.some((header) => opening.startsWith(header))) return 'video';
    if (!OGG_OTHER_HEADERS.some((header) => opening.startsWith(header))) return 'unknown';
    page = bodyStart + bodySize;
  }
  return wholeFile ? 'audio' : 'unknown';
}

/** file-type recognises MPEG audio by a frame sync alone; text can carry such a pattern by chance. */
const WEAK_SIGNATURES = new Set(['mp1', 'mp2', 'mp3']);

export interface DetectOptions {
  /** Prefix already read by the caller (at least DETECTION_PREFIX_BYTES, or the whole file). */
  prefix?: Uint8Array;
}

/**
 * Decides modality and content MIME type from the bytes. The extension only breaks ties: for
 * text (whose type is registered by extension) and for files no signature recognises, where a
 * media extension routes to that modality's probe, which then checks the bytes itself.
 */
export async function detect(source: ByteSource, options: DetectOptions = {}): Promise<Detection> {
  const prefix = options.prefix ?? (await source.read(0, DETECTION_PREFIX_BYTES));
  if (prefix.byteLength === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  // A data set without preamble is the weakest signature (a few plausible element headers):
  // it is tried only when neither the bytes nor a media extension say anything else.
  const byContent = (await detectByContent(prefix, source.extension)) ?? detectByExtension(source.extension)
    ?? (startsLikeDataSet(prefix) ? DICOM : undefined);
  if (!byContent) throw new ProbeError('unsupported_format', `${source.name}: bytes of no supported format`);
  return { ...byContent, warnings: extensionWarnings(source.extension, byContent) };
}

type Found = Omit<Detection, 'warnings'>;

const DICOM: Found = { modality: 'dicom', mime: 'application/dicom', format: 'dicom' };
const NIFTI: Found = { modality: 'nifti', mime: 'application/nifti', format: 'nifti' };

async function detectByContent(prefix: Uint8Array, extension: string): Promise<Found | undefined> {
  // A DICOM preamble may itself hold another signature (dual DICOM/TIFF files): DICM decides.
  if (hasDicmPrefix(prefix)) return DICOM;
  // FF FE is both the UTF-16LE byte order mark and an MPEG audio frame sync. Two frames in a
  // row settle it as audio; otherwise the mark wins, since file-type reads such text as frames.
  if (startsWithMpegFrames(prefix)) return { modality: 'audio', mime: 'audio/mpeg', format: 'mpeg-audio' };
  if (isWideBom(readBom(prefix))) return TEXT;
  const type = await fileTypeFromBuffer(prefix).catch(() => undefined);
  if (type && !WEAK_SIGNATURES.has(type.ext)) return fromFileType(type.mime, type.ext, prefix);
  // poppler opens a PDF whose header comes after some junk, within the first KiB.
  if (hasPdfHeader(prefix)) return { modality: 'pdf', mime: 'application/pdf', format: 'pdf' };
  const own = OWN_SIGNATURES.find(({ magic }) => magic.every((byte, i) => prefix[i] === byte));
  if (own) return own.found;
  if (looksLikeText(prefix)) return fromText(prefix, extension);
  if (isTransportStreamFromOffset(prefix)) return { modality: 'video', mime: 'video/mp2t', format: 'mts', fileTypeExt: 'mts' };
  if (isProgramStreamAfterFill(prefix)) return { modality: 'video', mime: 'video/mpeg', format: 'mpg', fileTypeExt: 'mpg' };
  if (type) return { modality: 'audio', mime: type.mime, format: type.ext, fileTypeExt: type.ext };
  if (isTiff(prefix)) return { modality: 'image', mime: 'image/tiff', format: 'tiff' };
  if (isNifti(prefix)) return NIFTI;
  return undefined;
}

const bytesOf = (text: string) => [...text].map((c) => c.charCodeAt(0));

/** Media signatures file-type does not know, whose files the probes (or ffprobe) read. */
const OWN_SIGNATURES: { magic: readonly number[]; found: Found }[] = [
  { magic: bytesOf('tBaK'), found: { modality: 'audio', mime: 'audio/x-tak', format: 'tak' } },
  { magic: bytesOf('ajkg'), found: { modality: 'audio', mime: 'audio/x-shorten', format: 'shn' } },
  { magic: bytesOf('TTA1'), found: { modality: 'audio', mime: 'audio/x-tta', format: 'tta' } },
  // Windows Recorded TV (WTV): its header GUID
  { magic: WTV_SIGNATURE, found: { modality: 'video', mime: 'video/x-ms-wtv', format: 'wtv' } },
];

function fromFileType(mime: string, ext: string, prefix: Uint8Array): Found {
  const found = { mime, format: ext, fileTypeExt: ext };
  if (ext === 'dcm') return { ...found, modality: 'dicom' };
  if (ext === 'pdf') return { ...found, modality: 'pdf' };
  if (ext === 'gz' && isGzippedNifti(prefix)) return NIFTI;
  if (ext === 'xml' && isSvg(prefix)) return { ...found, mime: 'image/svg+xml', format: 'svg', modality: 'image' };
  if (isTextType(mime)) return { ...found, modality: 'text' };
  if (OGG_TYPES.has(ext)) {
    const kind = oggStreamsKind(prefix);
    if (kind === 'video') return { ...found, mime: 'video/ogg', modality: 'video' };
    // file-type calls an Ogg file whose first codec it does not know application/ogg.
    if (kind === 'audio') return { ...found, mime: mime.startsWith('audio/') ? mime : 'audio/ogg', modality: 'audio' };
  }
  if (AUDIO_VIDEO_CONTAINERS.has(ext)) return { ...found, modality: mime.startsWith('audio/') && !STREAMS_UNKNOWN.has(ext) ? 'audio' : 'video' };
  const top = mime.split('/')[0];
  if (top === 'image' || top === 'video' || top === 'audio') return { ...found, modality: top };
  // Recognised, but not media Encord takes (archives, documents, executables).
  throw new ProbeError('unsupported_format', `${mime} (.${ext}) is not a media type Encord takes`);
}

const TEXT: Found = { modality: 'text', mime: 'text/plain', format: 'text' };

/**
 * Text bytes are text unless they are SVG, or are named as a media format (a damaged PDF, an
 * ASCII PBM): then that modality's probe looks at them and says what they are.
 */
function fromText(prefix: Uint8Array, extension: string): Found {
  if (isSvg(prefix)) return { modality: 'image', mime: 'image/svg+xml', format: 'svg' };
  const registered = typesForExtension(extension);
  if (registered && !registered.text) return detectByExtension(extension) ?? TEXT;
  return TEXT;
}

/** For bytes no signature knows: a media extension sends them to that modality's probe. */
function detectByExtension(extension: string): Found | undefined {
  const mime = typesForExtension(extension)?.preferred;
  const top = mime?.split('/')[0];
  if (!mime || !top) return undefined;
  if (mime === 'application/pdf') return { modality: 'pdf', mime, format: 'pdf' };
  if (mime === 'application/dicom') return { modality: 'dicom', mime, format: 'dicom' };
  if (top === 'image' || top === 'video' || top === 'audio') return { modality: top, mime, format: extension };
  return undefined;
}

/**
 * Warns when the extension names another type than the content: another modality, or another
 * format of the same one (JPEG bytes named .heic). Text is exempt within its modality, since
 * its type comes from the extension by design.
 */
function extensionWarnings(extension: string, found: Found): ProbeWarning[] {
  const registered = extension ? typesForExtension(extension) : undefined;
  if (!registered) return [];
  if (registered.all.includes(found.mime)) return [];
  // Audio and video share containers (an .m4a is an MP4): compare them as one kind.
  const kind = (modality: Modality | undefined) => (modality === 'audio' ? 'video' : modality);
  const candidates = registered.all.filter((mime) => kind(modalityOfMime(mime)) === kind(found.modality));
  if (found.modality === 'text' ? candidates.length > 0 : candidates.some((mime) => sameFormat(extension, mime, found))) return [];
  return [{
    code: 'extension_mismatch',
    message: `extension .${extension} (${registered.preferred}) does not match the content (${found.mime})`,
  }];
}

function sameFormat(extension: string, registeredMime: string, found: Found): boolean {
  const registered = formatFamily(registeredMime);
  return extension === found.fileTypeExt || registered === formatFamily(found.mime)
    || registered === formatFamily(typesForExtension(found.fileTypeExt ?? '')?.preferred ?? '');
}

/** Types that conventionally share extensions: APNG is named .png, HEIF/HEIC/AVIF share brands. */
function formatFamily(mime: string): string {
  const subtype = mime.replace(/^[^/]*\//, '').replace(/^x-/, '').replace(/-sequence$/, '');
  if (subtype === 'apng') return 'png';
  if (subtype === 'heic' || subtype === 'avif') return 'heif';
  return subtype;
}

function modalityOfMime(mime: string): Modality | undefined {
  if (mime === 'application/pdf') return 'pdf';
  if (mime === 'application/dicom') return 'dicom';
  if (isTextType(mime)) return 'text';
  const top = mime.split('/')[0];
  return top === 'image' || top === 'video' || top === 'audio' ? top : undefined;
}

function isSvg(prefix: Uint8Array): boolean {
  const head = new TextDecoder('latin1').decode(prefix.subarray(0, 2048));
  return /<svg[\s>]/i.test(head);
}

function isTiff(b: Uint8Array): boolean {
  return (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a);
}

function hasPdfHeader(prefix: Uint8Array): boolean {
  return Buffer.from(prefix.buffer, prefix.byteOffset, Math.min(prefix.byteLength, 1024)).includes('%PDF-');
}

/** Packets in step that FFmpeg's mpegts probe takes as a transport stream (it counts syncs at every offset). */
const TS_MIN_PACKETS = 10;

/**
 * Transport stream packets in step from some offset to the end of the prefix: a capture that
 * starts mid-packet or after fill bytes, which file-type (syncs at byte 0 only) misses and may
 * take for MPEG audio. The video probe hands an audio-only stream to the audio probe.
 */
function isTransportStreamFromOffset(prefix: Uint8Array): boolean {
  return TS_PACKET_SIZES.some((size) => {
    for (let start = 0; start + TS_MIN_PACKETS * size <= prefix.byteLength; start++) {
      let packets = 0;
      let at = start;
      while (at < prefix.byteLength && prefix[at] === TS_SYNC) {
        packets++;
        at += size;
      }
      if (at >= prefix.byteLength && packets >= TS_MIN_PACKETS) return true;
    }
    return false;
  });
}

/**
 * An MPEG program stream after a run of one fill byte (0x00 or 0xFF): FFmpeg's mpegps probe
 * counts start codes anywhere, while file-type looks for the pack header at byte 0 only and takes
 * 0xFF fill for MPEG audio. A pack header, then another start code within the pack, must follow.
 */
function isProgramStreamAfterFill(prefix: Uint8Array): boolean {
  const fill = prefix[0];
  if (fill !== 0x00 && fill !== 0xff) return false;
  let at = 0;
  while (at < prefix.byteLength && prefix[at] === fill) at++;
  if (fill === 0x00) at -= 2; // a pack header opens with two zero bytes of its own
  if (at < 1 || !isProgramStream(prefix.subarray(at))) return false;
  const next = Buffer.from(prefix.buffer, prefix.byteOffset + at + 4, Math.max(0, Math.min(prefix.byteLength - at - 4, 64))).indexOf(Buffer.from([0, 0, 1]));
  return next >= 0 && prefix[at + 4 + next + 3]! >= 0xb9;
}

/** An MPEG audio frame at byte 0 and the next one right where its length says. */
function startsWithMpegFrames(prefix: Uint8Array): boolean {
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const first = prefix.byteLength >= 4 ? parseMpegHeader(view.getUint32(0)) : undefined;
  if (!first || first.frameSize === 0 || first.frameSize + 4 > prefix.byteLength) return false;
  const second = parseMpegHeader(view.getUint32(first.frameSize));
  return second !== undefined && second.layer === first.layer && second.sampleRate === first.sampleRate;
}
