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

/** Top-level MIME types that can never describe a text file. */
const NOT_TEXT_TYPES: ReadonlySet<string> = new Set(['image', 'video', 'audio', 'font', 'model']);

export function displaySupport(kind: MediaKind, mimeType: string): DisplaySupport {
  const mime = mimeType.toLowerCase();
  if (kind === 'text') return 'supported';
  if (SUPPORTED[kind].has(mime)) return 'supported';
  return SAFARI_ONLY.has(mime) ? 'browser_support_limited' : 'unsupported_by_encord';
}

/** Whether the MIME type can describe a file of this kind at all. */
export function mimeFitsKind(kind: MediaKind, mimeType: string): boolean {
  const [type] = mimeType.toLowerCase().split('/');
  if (kind === 'text') return !NOT_TEXT_TYPES.has(type ?? '') && mimeType.toLowerCase() !== 'application/pdf';
  return type === kind;
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
