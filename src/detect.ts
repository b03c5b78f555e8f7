import { fileTypeFromBuffer } from 'file-type';
import { ProbeError } from './errors.js';
import { isTextType, typesForExtension } from './mime.js';
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
  const byContent = (await detectByContent(prefix)) ?? detectByExtension(source.extension);
  if (!byContent) throw new ProbeError('unsupported_format', `${source.name}: bytes of no supported format`);
  return { ...byContent, warnings: extensionWarnings(source.extension, byContent) };
}

type Found = Omit<Detection, 'warnings'>;

async function detectByContent(prefix: Uint8Array): Promise<Found | undefined> {
  // file-type reads some UTF-16/32 text as MPEG audio frames: a byte order mark settles it first.
  if (isWideBom(readBom(prefix))) return { modality: 'text', mime: 'text/plain', format: 'text' };
  const type = await fileTypeFromBuffer(prefix).catch(() => undefined);
  if (type && !WEAK_SIGNATURES.has(type.ext)) return fromFileType(type.mime, type.ext, prefix);
  if (looksLikeText(prefix)) return fromText(prefix);
  if (type) return { modality: 'audio', mime: type.mime, format: type.ext, fileTypeExt: type.ext };
  if (isTiff(prefix)) return { modality: 'image', mime: 'image/tiff', format: 'tiff' };
  if (isDicomWithoutPreamble(prefix)) return { modality: 'dicom', mime: 'application/dicom', format: 'dicom' };
  if (isNifti(prefix)) return { modality: 'nifti', mime: 'application/nifti', format: 'nifti' };
  return undefined;
}

function fromFileType(mime: string, ext: string, prefix: Uint8Array): Found {
  const found = { mime, format: ext, fileTypeExt: ext };
  if (ext === 'dcm') return { ...found, modality: 'dicom' };
  if (ext === 'pdf') return { ...found, modality: 'pdf' };
  if (ext === 'gz') return { ...found, modality: 'nifti' };
  if (ext === 'xml' && isSvg(prefix)) return { ...found, mime: 'image/svg+xml', format: 'svg', modality: 'image' };
  if (isTextType(mime)) return { ...found, modality: 'text' };
  if (AUDIO_VIDEO_CONTAINERS.has(ext)) return { ...found, modality: mime.startsWith('audio/') ? 'audio' : 'video' };
  const top = mime.split('/')[0];
  if (top === 'image' || top === 'video' || top === 'audio') return { ...found, modality: top };
  // Recognised, but not media Encord takes (archives, documents, executables).
  throw new ProbeError('unsupported_format', `${mime} (.${ext}) is not a media type Encord takes`);
}

function fromText(prefix: Uint8Array): Found {
  if (isSvg(prefix)) return { modality: 'image', mime: 'image/svg+xml', format: 'svg' };
  return { modality: 'text', mime: 'text/plain', format: 'text' };
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
  const sameModality = modalityOfMime(registered.text ?? registered.preferred) === found.modality;
  if (sameModality && (found.modality === 'text' || sameFormat(extension, registered.preferred, found))) return [];
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

/** A DICOM data set without preamble starts with a group 0002 or 0008 element, little endian. */
function isDicomWithoutPreamble(b: Uint8Array): boolean {
  if (b.byteLength < 12) return false;
  const group = b[0]! | (b[1]! << 8);
  if (group !== 0x0002 && group !== 0x0008) return false;
  const vr = String.fromCharCode(b[4]!, b[5]!);
  const explicit = /^(AE|AS|AT|CS|DA|DS|DT|FL|FD|IS|LO|LT|OB|OD|OF|OL|OW|PN|SH|SL|SQ|SS|ST|TM|UC|UI|UL|UN|UR|US|UT|UV|SV)$/.test(vr);
  const implicitLength = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
  return explicit || (implicitLength >= 0 && implicitLength < 1 << 20);
}

/** NIfTI-1 (sizeof_hdr 348, magic n+1/ni1 at 344) or NIfTI-2 (540, magic n+2 at 4), either endian. */
function isNifti(b: Uint8Array): boolean {
  if (b.byteLength < 348) return false;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicAt = (offset: number) => String.fromCharCode(b[offset]!, b[offset + 1]!, b[offset + 2]!);
  const size = (le: boolean) => view.getInt32(0, le);
  const v1 = (size(true) === 348 || size(false) === 348) && /^n(\+|i)1$/.test(magicAt(344));
  const v2 = (size(true) === 540 || size(false) === 540) && magicAt(4) === 'n+2';
  return v1 || v2;
}
