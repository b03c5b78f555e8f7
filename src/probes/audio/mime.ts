import type { Detection } from '../types.js';
import { ascii, startsWith } from './bytes.js';

/**
 * Content MIME types of the containers ffprobe reads for us: the SPEC audio table first, then
 * what ExifTool reports (File:MIMEType) for the audio-only file. Keyed by ffprobe format_name.
 */
const BY_FORMAT: Record<string, string> = {
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  w64: 'audio/wav',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  aac: 'audio/aac',
  aiff: 'audio/aiff',
  asf: 'audio/x-ms-wma',
  ape: 'audio/x-monkeys-audio',
  wv: 'audio/x-wavpack',
  mpc: 'audio/x-musepack',
  mpc8: 'audio/x-musepack',
  mpegts: 'video/mpeg',
  mpeg: 'video/mpeg',
  rm: 'audio/x-pn-realaudio',
  dsf: 'audio/x-dsf',
  mxf: 'application/mxf',
  aa: 'audio/audible',
  caf: 'audio/x-caf',
  au: 'audio/basic',
  avi: 'video/x-msvideo',
  flv: 'video/x-flv',
};

/** Formats ExifTool gives no type for: the detector's content type, else these common ones. */
const UNNAMED_BY_EXIFTOOL: Record<string, string> = {
  ac3: 'audio/ac3',
  eac3: 'audio/eac3',
  amr: 'audio/amr',
  tak: 'audio/x-tak',
  tta: 'audio/x-tta',
  shn: 'audio/x-shorten',
  iff: 'audio/x-dff',
};

/** Undefined for a container no table names and the detector did not recognise. */
export function containerMime(formatName: string, head: Uint8Array, detection: Detection): string | undefined {
  const name = formatName.split(',')[0] ?? '';
  if (name === 'matroska') return matroskaDocType(head) === 'webm' ? 'audio/webm' : 'audio/x-matroska';
  if (name === 'mov') return mp4Mime(head);
  return BY_FORMAT[name] ?? (detection.mime || UNNAMED_BY_EXIFTOOL[name]);
}

/** The ISO-BMFF family by major brand: QuickTime and 3GPP keep ExifTool's types, the rest is audio/mp4. */
export function mp4Mime(head: Uint8Array): string {
  if (!startsWith(head, 'ftyp', 4)) return 'video/quicktime';
  const brand = ascii(head, 8);
  if (brand === 'qt  ') return 'video/quicktime';
  if (brand.startsWith('3g2')) return 'video/3gpp2';
  if (brand.startsWith('3g')) return 'video/3gpp';
  return 'audio/mp4';
}

/** The EBML DocType string ("webm", "matroska") from the header at the start of the file. */
function matroskaDocType(head: Uint8Array): string | undefined {
  for (let i = 4; i + 3 < Math.min(head.byteLength, 64); i++) {
    if (head[i] === 0x42 && head[i + 1] === 0x82) {
      const length = head[i + 2]! & 0x7f;
      if ((head[i + 2]! & 0x80) !== 0) return ascii(head, i + 3, length).replace(/\0+$/, '');
    }
  }
  return undefined;
}
