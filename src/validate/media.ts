import type { FindingSink } from './sink.js';

/**
 * What Encord can display, per SPEC.md and Encord's supported-data page. Used to warn about
 * metadata that is valid but describes a file Encord will not show (or shows only in Safari).
 */

export type MediaKind = 'image' | 'video' | 'audio' | 'text';
export type DisplaySupport = 'supported' | 'browser_support_limited' | 'unsupported_by_encord';

const SUPPORTED: Record<Exclude<MediaKind, 'text'>, ReadonlySet<string>> = {
  image: new Set(['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'image/bmp', 'image/x-ms-bmp']),
  video: new Set(['video/mp4', 'video/webm', 'video/x-matroska']),
  audio: new Set([
    'audio/mpeg',
    'audio/wav',
    'audio/x-wav',
    'audio/wave',
    'audio/vnd.wave',
    'audio/flac',
    'audio/x-flac',
    'audio/mp4',
    'audio/x-m4a',
  ]),
};

/** Viewable only in Safari. */
const SAFARI_ONLY: ReadonlySet<string> = new Set(['image/tiff', 'video/quicktime']);

/**
 * Top-level MIME types a file of each kind can have. Containers are often typed by their own
 * name (application/mxf video, application/vnd.rn-realmedia) and audio may sit in a video
 * container (MPEG-TS: video/mpeg); only a type that names another kind of media is wrong.
 */
const FITTING_TYPES: Record<MediaKind, ReadonlySet<string>> = {
  image: new Set(['image']),
  video: new Set(['video', 'application']),
  audio: new Set(['audio', 'video', 'application']),
  text: new Set(['text', 'application']),
};

export function displaySupport(kind: MediaKind, mimeType: string): DisplaySupport {
  const mime = mimeType.toLowerCase();
  if (kind === 'text') return 'supported';
  if (SUPPORTED[kind].has(mime)) return 'supported';
  return SAFARI_ONLY.has(mime) ? 'browser_support_limited' : 'unsupported_by_encord';
}

/** Whether the MIME type can describe a file of this kind at all. */
export function mimeFitsKind(kind: MediaKind, mimeType: string): boolean {
  const mime = mimeType.toLowerCase();
  if (kind === 'text' && mime === 'application/pdf') return false;
  return FITTING_TYPES[kind].has(mime.slice(0, mime.indexOf('/')));
}

/** Checks a well-formed mime_type against the item's modality and Encord's viewers. */
export function checkMimeType(kind: MediaKind, mimeType: string, pointer: string, sink: FindingSink): void {
  if (!mimeFitsKind(kind, mimeType)) {
    sink.error(pointer, 'mime_type_modality_mismatch', `${mimeType} is not a ${kind} type`);
    return;
  }
  const support = displaySupport(kind, mimeType);
  if (support === 'browser_support_limited') {
    sink.warning(pointer, support, `Encord shows ${mimeType} only in Safari`);
  } else if (support === 'unsupported_by_encord') {
    sink.warning(pointer, support, `Encord cannot display ${mimeType}`);
  }
}
