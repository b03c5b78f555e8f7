import { ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import { decodePrefix, isWideBom, readBom, Utf8Check, type Bom } from './text/encoding.js';
import { typesForExtension } from '../mime.js';
import { sniffTextType } from './text/mime.js';
import type { Probe, ProbeWarning } from './types.js';

export { looksLikeText } from './text/encoding.js';

/** Text is read in chunks of this size: a huge file is checked without being held in memory. */
const CHUNK_BYTES = 1024 * 1024;
/** Bytes kept from the start for sniffing the type of text with no text-typed extension. */
const SNIFF_BYTES = 64 * 1024;

interface Scan {
  size: number;
  prefix: Uint8Array;
  bom: Bom | undefined;
  /** Not UTF-8: what the encoding warning says, or undefined for UTF-8 text. */
  notUtf8?: string;
}

/**
 * Describes a text file: its size and its MIME type (the extension's mime-db type when that is
 * a text type, else sniffed from the content). Every byte is read once, in bounded chunks, to
 * tell text from binary (NUL bytes) and UTF-8 from other encodings.
 */
export const probeText: Probe<'text'> = async (source) => {
  const scan = await scanText(source);
  const warnings: ProbeWarning[] = [];
  if (scan.notUtf8) warnings.push({ code: 'encoding', message: `${scan.notUtf8}; Encord expects UTF-8 text` });
  return { metadata: { file_size: scan.size, mime_type: mimeType(source, scan) }, warnings };
};

async function scanText(source: ByteSource): Promise<Scan> {
  let prefix = await source.read(0, CHUNK_BYTES);
  if (prefix.byteLength === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  const bom = readBom(prefix);
  const check = new Utf8Check();
  let size = 0;
  for (let chunk = prefix; ; chunk = await source.read(size, CHUNK_BYTES)) {
    size += chunk.byteLength;
    check.push(bom?.name === 'UTF-8' && chunk === prefix ? chunk.subarray(bom.length) : chunk);
    if (check.hasNul && !isWideBom(bom)) throw new ProbeError('not_text', `${source.name} holds NUL bytes: binary data, not text`);
    if (chunk.byteLength < CHUNK_BYTES) break;
  }
  check.finish();
  prefix = prefix.slice(0, SNIFF_BYTES);
  return { size, prefix, bom, notUtf8: encodingProblem(bom, check) };
}

function encodingProblem(bom: Bom | undefined, check: Utf8Check): string | undefined {
  if (isWideBom(bom)) return `the text is ${bom!.name} (byte order mark)`;
  if (!check.valid) return 'the text is not valid UTF-8 (a legacy charset or damaged bytes)';
  if (check.hasIso2022Escape) return 'the text uses ISO-2022 escape sequences (a 7-bit legacy charset)';
  return undefined;
}

/**
 * The extension decides when mime-db registers a text type for it. An extension registered only
 * to an image type names an image (SVG, PBM, XPM, or bytes that are not the image they claim to
 * be): that is an image format Encord does not display, not a text file.
 */
function mimeType(source: ByteSource, scan: Scan): string {
  const registered = source.extension ? typesForExtension(source.extension) : undefined;
  if (registered?.text) return registered.text;
  if (registered?.preferred.startsWith('image/')) {
    throw new ProbeError('unsupported_format', `${source.name}: text content with a .${source.extension} (${registered.preferred}) name is not an image format Encord displays`);
  }
  return sniffTextType(decodePrefix(scan.prefix, scan.bom));
}
