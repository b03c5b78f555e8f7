import { LimitError, ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import { countPages, linearizedPageCount } from './pdf/document.js';
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
    num_pages = await countPages(new PdfFile(reader, await readCrossReference(reader), false));
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    num_pages = await recoveredCount(source, reader, error);
  }
  return { metadata: { file_size: size, num_pages }, warnings: [] };
};

async function recoveredCount(source: ByteSource, reader: RangeReader, leanError: unknown): Promise<number> {
  if (reader.size > MAX_REBUILD_BYTES) {
    throw new LimitError('limit_exceeded', `${source.name} needs rebuilding (${message(leanError)}) but is over ${MAX_REBUILD_BYTES} bytes`);
  }
  const bytes = await reader.read(0, reader.size);
  const ours = await rebuildFile(reader, bytes).then(countPages).catch((error: unknown) => error);
  if (typeof ours === 'number') {
    const pdfjs = await pdfjsPageCount(bytes);
    const theirs = pdfjs.kind === 'password' ? await pdfLibPageCount(bytes) : pdfjs.kind === 'pages' ? pdfjs.pages : undefined;
    if (theirs === ours) return ours;
    throw new ProbeError('corrupt_file', `damaged file: rebuilt it holds ${ours} pages, a second reader ${theirs === undefined ? 'cannot read it' : `finds ${theirs}`}`);
  }
  if (ours instanceof ProbeError) throw ours;
  // pdfinfo prints a linearized file's /N without reading its page tree.
  const linearized = await linearizedPageCount(reader);
  const pdfjs = linearized === undefined ? undefined : await pdfjsPageCount(bytes);
  if (pdfjs?.kind === 'pages' && pdfjs.pages === linearized) return linearized;
  throw new ProbeError('corrupt_file', `damaged file, not rebuilt: ${message(ours)}`, { cause: ours });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
