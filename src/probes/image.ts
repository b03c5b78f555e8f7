import { ProbeError } from '../errors.js';
import { bmp } from './image/bmp.js';
import { HEAD_BYTES, swapsAxes, type ImageFacts, type ImageFormat } from './image/format.js';
import { gif } from './image/gif.js';
import { heif } from './image/heif.js';
import { jpeg } from './image/jpeg.js';
import { png } from './image/png.js';
import { ByteReader } from './image/reader.js';
import { tiff } from './image/tiff.js';
import { webp } from './image/webp.js';
import type { Probe, ProbeWarning } from './types.js';

/** The formats probed; every other image format is unsupported_format (Encord does not display it). */
const FORMATS: readonly ImageFormat[] = [jpeg, png, gif, webp, heif, bmp, tiff];

/** Types Encord does not display, and those only some browsers display. */
const UNSUPPORTED_BY_ENCORD = new Set(['image/gif', 'image/apng', 'image/heic', 'image/heif', 'image/heic-sequence', 'image/heif-sequence']);
const LIMITED_BROWSER_SUPPORT = new Set(['image/tiff']);

/**
 * Describes an image from its headers alone: the format is decided from the bytes (not the
 * detector's guess, which cannot tell APNG from PNG or AVIF from HEIF brands), pixels are never
 * decoded, and only the bytes the headers need are read.
 */
export const probeImage: Probe<'image'> = async (source, context) => {
  const reader = new ByteReader(source);
  const head = await reader.bytes(0, HEAD_BYTES);
  if (head.byteLength === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  const format = FORMATS.find((candidate) => candidate.matches(head));
  if (!format) {
    throw new ProbeError('unsupported_format', `${source.name}: not JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, BMP or TIFF (the image formats Encord takes)`);
  }
  const facts = await format.probe(reader);
  const display = context.options.orientation !== 'stored';
  const turned = display && swapsAxes(facts.orientation);
  return {
    metadata: {
      mime_type: facts.mime,
      file_size: await reader.size(),
      width: turned ? facts.height : facts.width,
      height: turned ? facts.width : facts.height,
    },
    warnings: warningsFor(facts, display),
    details: { format: format.name, orientation: facts.orientation },
  };
};

function warningsFor(facts: ImageFacts, display: boolean): ProbeWarning[] {
  const warnings: ProbeWarning[] = [];
  if (UNSUPPORTED_BY_ENCORD.has(facts.mime)) {
    warnings.push({ code: 'unsupported_by_encord', message: `Encord does not display ${facts.mime}` });
  }
  if (LIMITED_BROWSER_SUPPORT.has(facts.mime)) {
    warnings.push({ code: 'browser_support_limited', message: `${facts.mime} displays only in some browsers (Safari)` });
  }
  if (display && facts.orientation !== 1) {
    warnings.push({
      code: 'orientation_applied',
      message: `orientation ${facts.orientation} applied: ${facts.width}x${facts.height} stored, shown ${swapsAxes(facts.orientation) ? 'turned a quarter' : 'flipped or turned half'}`,
    });
  }
  return warnings;
}
