import { LimitError, ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import { countPages, linearizedPageCount, PageTreeDoubt } from './pdf/document.js';
import { PdfFile } from './pdf/objects.js';
import { pdfLibPageCount } from './pdf/pdflib.js';
import { pdfjsPageCount } from './pdf/pdfjs.js';
import { RangeReader } from './pdf/range.js';
import { rebuildFile } from './pdf/rebuild.js';
import { readCrossReference } from './pdf/xref.js';
import type { Probe } from './types.js';

/** Damaged files are read whole to be rebuilt; larger ones are refused rather than guessed at. */
const MAX_REBUILD_BYTES = 256 * 1024 * 1024;

/**
 * PDF page count. A lean reader follows `startxref`, the cross-reference chain and the page
 * tree, reading only the objects it needs. When it cannot be sure (damaged cross-reference
 * data, a missing object, a parse doubt) the file is rebuilt from its bytes and counted
 * again, and a second reader must agree: pdf.js's recovery, or pdf-lib where pdf.js asks for
 * a password poppler does not need. Otherwise the answer is an error.
 */
export const probePdf: Probe<'pdf'> = async (source) => {
  const size = await source.size();
  if (size === 0) throw new ProbeError('empty_file', `${source.name} is empty`);
  const reader = new RangeReader(source, size);
  let num_pages: number;
  try {
    const lean = reader.from(await headerOffset(reader));
    num_pages = await countPages(new PdfFile(lean, await readCrossReference(lean), false));
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    num_pages = await recoveredCount(source, reader, error);
  }
  return { metadata: { file_size: size, num_pages }, warnings: [] };
};

/** Where `%PDF-` starts within the first 1 KiB (poppler counts offsets from there), else 0. */
async function headerOffset(reader: RangeReader): Promise<number> {
  const at = Buffer.from(await reader.read(0, 1024)).indexOf('%PDF-');
  return Math.max(0, at);
}

async function recoveredCount(source: ByteSource, reader: RangeReader, leanError: unknown): Promise<number> {
  if (reader.size > MAX_REBUILD_BYTES) {
    throw new LimitError('limit_exceeded', `${source.name} needs rebuilding (${message(leanError)}) but is over ${MAX_REBUILD_BYTES} bytes`);
  }
  const bytes = await reader.read(0, reader.size);
  const rebuilt = await rebuildFile(reader, bytes).catch((error: unknown) => error);
  const ours = rebuilt instanceof PdfFile ? await countPages(rebuilt).catch((error: unknown) => error) : rebuilt;
  if (typeof ours === 'number') {
    const pdfjs = await pdfjsPageCount(bytes);
    // pdf-lib ignores encryption: it may only stand in where our reading found the encryption and judged it open.
    const encrypted = rebuilt instanceof PdfFile && rebuilt.trailer.has('Encrypt');
    const theirs = pdfjs.kind === 'password' ? (encrypted ? await pdfLibPageCount(bytes) : undefined) : pdfjs.kind === 'pages' ? pdfjs.pages : undefined;
    if (theirs === ours) return ours;
    throw new ProbeError('corrupt_file', `damaged file: rebuilt it holds ${ours} pages, a second reader ${theirs === undefined ? 'cannot read it' : `finds ${theirs}`}`);
  }
  if (ours instanceof ProbeError && ours.code !== 'corrupt_file') throw ours;
  // pdfinfo prints a linearized file's /N without walking its page tree, once it has the catalog.
  if (leanError instanceof PageTreeDoubt || ours instanceof PageTreeDoubt) {
    const linearized = await linearizedPageCount(reader);
    const pdfjs = linearized === undefined ? undefined : await pdfjsPageCount(bytes);
    if (pdfjs?.kind === 'pages' && pdfjs.pages === linearized) return linearized;
  }
  if (ours instanceof ProbeError) throw ours;
  throw new ProbeError('corrupt_file', `damaged file, not rebuilt: ${message(ours)}`, { cause: ours });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
