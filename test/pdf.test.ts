import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { ProbeError } from '../src/errors.js';
import { probePdf } from '../src/probes/pdf.js';
import { countPages } from '../src/probes/pdf/document.js';
import { PdfFile } from '../src/probes/pdf/objects.js';
import { RangeReader } from '../src/probes/pdf/range.js';
import { rebuildFile } from '../src/probes/pdf/rebuild.js';
import { readCrossReference } from '../src/probes/pdf/xref.js';
import { BufferSource } from '../src/sources/buffer.js';
import { FileSource } from '../src/sources/file.js';

const context = { options: {}, detection: { modality: 'pdf' as const, mime: 'application/pdf', format: 'pdf', warnings: [] } };
const assets = join(import.meta.dirname, '..', 'test-assets', 'pdf');

async function pages(bytes: Uint8Array): Promise<number> {
  return (await probePdf(new BufferSource(bytes, 'test.pdf'), context)).metadata.num_pages;
}

async function errorCode(bytes: Uint8Array): Promise<string> {
  const error = await probePdf(new BufferSource(bytes, 'test.pdf'), context).then(
    (result) => result,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ProbeError)) throw new Error(`expected a ProbeError, got ${JSON.stringify(error)}`);
  return error.code;
}

/** The page count the lean reader alone finds (no rebuild, no second reader). */
async function leanPages(bytes: Uint8Array): Promise<number> {
  const reader = new RangeReader(new BufferSource(bytes), bytes.length);
  return countPages(new PdfFile(reader, await readCrossReference(reader), false));
}

type Body = string | Buffer;
const PAGE = (parent: number) => `<< /Type /Page /Parent ${parent} 0 R /MediaBox [0 0 200 200] >>`;
const stream = (dict: string, data: Buffer): Buffer => Buffer.concat([Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream')]);

/** Writes `objects` as a classic PDF: header, objects, an xref table and a trailer (with `/Root 1 0 R`). */
function classicPdf(objects: Record<number, Body>, trailerExtra = '', prefix = Buffer.from('%PDF-1.7\n')): Buffer {
  const parts: Buffer[] = [prefix];
  const offsets = new Map<number, number>();
  let length = prefix.length;
  for (const [num, body] of Object.entries(objects)) {
    offsets.set(Number(num), length);
    const chunk = Buffer.concat([Buffer.from(`${num} 0 obj\n`), Buffer.from(body), Buffer.from('\nendobj\n')]);
    parts.push(chunk);
    length += chunk.length;
  }
  const size = Math.max(...offsets.keys()) + 1;
  let table = `xref\n0 ${size}\n0000000000 65535 f \n`;
  for (let num = 1; num < size; num++) {
    const offset = offsets.get(num);
    table += offset === undefined ? '0000000000 65535 f \n' : `${String(offset).padStart(10, '0')} 00000 n \n`;
  }
  parts.push(Buffer.from(`${table}trailer\n<< /Size ${size} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** Appends an incremental update: the objects given, an xref section for them, a trailer with /Prev. */
function appendUpdate(base: Buffer, objects: Record<number, Body>, size: number): Buffer {
  const prev = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(base.toString('latin1'))![1]);
  const parts: Buffer[] = [base];
  let length = base.length;
  let table = 'xref\n';
  for (const [num, body] of Object.entries(objects)) {
    const chunk = Buffer.concat([Buffer.from(`${num} 0 obj\n`), Buffer.from(body), Buffer.from('\nendobj\n')]);
    table += `${num} 1\n${String(length).padStart(10, '0')} 00000 n \n`;
    parts.push(chunk);
    length += chunk.length;
  }
  parts.push(Buffer.from(`${table}trailer\n<< /Size ${size} /Root 1 0 R /Prev ${prev} >>\nstartxref\n${length}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** A page tree of `count` pages under `root` (object 2), pages from object 10 on. */
function flatTree(count: number, declared = count): Record<number, Body> {
  const kids = Array.from({ length: count }, (_, i) => `${10 + i} 0 R`).join(' ');
  const objects: Record<number, Body> = { 1: '<< /Type /Catalog /Pages 2 0 R >>', 2: `<< /Type /Pages /Kids [${kids}] /Count ${declared} >>` };
  for (let i = 0; i < count; i++) objects[10 + i] = PAGE(2);
  return objects;
}

/** PNG "Up" predictor rows, as writers encode cross-reference streams. */
function pngUp(rows: number[][]): Buffer {
  const out: number[] = [];
  rows.forEach((row, r) => {
    out.push(2, ...row.map((byte, i) => (byte - (r > 0 ? rows[r - 1]![i]! : 0)) & 0xff));
  });
  return Buffer.from(out);
}

/**
 * A PDF 1.5 file: catalog and page tree inside an object stream (object 5), located by a
 * cross-reference stream (object 6) with a PNG predictor. With `hybrid`, a classic table
 * lists the plain objects and points to the stream with /XRefStm.
 */
function objectStreamPdf(pageCount: number, hybrid = false): Buffer {
  const members: Array<[number, string]> = [
    [1, '<< /Type /Catalog /Pages 2 0 R >>'],
    [2, `<< /Type /Pages /Kids [${Array.from({ length: pageCount }, (_, i) => `${10 + i} 0 R`).join(' ')}] /Count ${pageCount} >>`],
    ...Array.from({ length: pageCount }, (_, i): [number, string] => [10 + i, PAGE(2)]),
  ];
  let header = '';
  let body = '';
  for (const [num, text] of members) {
    header += `${num} ${body.length} `;
    body += `${text}\n`;
  }
  const objStm = stream(`/Type /ObjStm /N ${members.length} /First ${header.length} /Filter /FlateDecode`, deflateSync(header + body));
  const head = Buffer.from('%PDF-1.5\n');
  const objStmOffset = head.length;
  const objStmChunk = Buffer.concat([Buffer.from('5 0 obj\n'), objStm, Buffer.from('\nendobj\n')]);
  const xrefOffset = objStmOffset + objStmChunk.length;
  const size = 10 + pageCount;
  const rows: number[][] = [];
  for (let num = 0; num < size; num++) {
    const index = members.findIndex(([n]) => n === num);
    if (num === 5) rows.push([1, objStmOffset >> 8, objStmOffset & 0xff, 0]);
    else if (num === 6) rows.push([1, xrefOffset >> 8, xrefOffset & 0xff, 0]);
    else if (index >= 0) rows.push([2, 0, 5, index]);
    else rows.push([0, 0, 0, 0]);
  }
  const xrefStream = stream(
    `/Type /XRef /Size ${size} /W [1 2 1] /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Columns 4 /Predictor 12 >>`,
    deflateSync(pngUp(rows)),
  );
  const xrefChunk = Buffer.concat([Buffer.from('6 0 obj\n'), xrefStream, Buffer.from('\nendobj\n')]);
  if (!hybrid) return Buffer.concat([head, objStmChunk, xrefChunk, Buffer.from(`startxref\n${xrefOffset}\n%%EOF\n`)]);
  const tableOffset = xrefOffset + xrefChunk.length;
  // Readers that predate object streams see the compressed objects as free.
  let table = `xref\n0 ${size}\n`;
  for (let num = 0; num < size; num++) {
    table += num === 5 ? `${String(objStmOffset).padStart(10, '0')} 00000 n \n` : num === 6 ? `${String(xrefOffset).padStart(10, '0')} 00000 n \n` : '0000000000 65535 f \n';
  }
  const trailer = `trailer\n<< /Size ${size} /Root 1 0 R /XRefStm ${xrefOffset} >>\nstartxref\n${tableOffset}\n%%EOF\n`;
  return Buffer.concat([head, objStmChunk, xrefChunk, Buffer.from(table + trailer)]);
}

describe('PDFs written by pdf-lib', () => {
  it('counts pages with cross-reference and object streams (pdf-lib default)', async () => {
    const doc = await PDFDocument.create();
    for (let i = 0; i < 7; i++) doc.addPage();
    const bytes = await doc.save();
    expect(await leanPages(bytes)).toBe(7);
    const result = await probePdf(new BufferSource(bytes), context);
    expect(result).toEqual({ metadata: { file_size: bytes.length, num_pages: 7 }, warnings: [] });
  });

  it('counts pages with a classic xref table', async () => {
    const doc = await PDFDocument.create();
    for (let i = 0; i < 2; i++) doc.addPage();
    expect(await leanPages(await doc.save({ useObjectStreams: false }))).toBe(2);
  });

  it('reads a file from disk through FileSource', async () => {
    const source = new FileSource(join(assets, 'linearized.pdf'));
    try {
      const result = await probePdf(source, context);
      expect(result.metadata).toEqual({ file_size: readFileSync(join(assets, 'linearized.pdf')).length, num_pages: 3 });
    } finally {
      await source.close();
    }
  });
});

describe('page tree', () => {
  it('walks nested /Pages nodes and pages without /Type', async () => {
    const bytes = classicPdf({
      1: '<< /Type /Catalog /Pages 2 0 R >>',
      2: '<< /Type /Pages /Kids [3 0 R 10 0 R 4 0 R] /Count 5 >>',
      3: '<< /Type /Pages /Kids [11 0 R 12 0 R] /Count 2 /Parent 2 0 R >>',
      4: '<< /Kids [13 0 R 14 0 R] /Count 2 /Parent 2 0 R >>',
      10: PAGE(2),
      11: PAGE(3),
      12: '<< /Parent 3 0 R /MediaBox [0 0 10 10] >>',
      13: PAGE(4),
      14: PAGE(4),
    });
    expect(await leanPages(bytes)).toBe(5);
  });

  it('refuses a /Count that disagrees with a clean tree (pdfinfo prints the /Count)', async () => {
    expect(await errorCode(classicPdf(flatTree(1, 3)))).toBe('corrupt_file');
    expect(await errorCode(classicPdf(flatTree(3, 1)))).toBe('corrupt_file');
  });

  it('walks the tree where pdfinfo cannot read the /Count', async () => {
    expect(await pages(classicPdf(flatTree(1, 0)))).toBe(1);
    expect(await pages(classicPdf(flatTree(2, 9999999999)))).toBe(2);
    const countInStream = { ...flatTree(1), 2: '<< /Type /Pages /Kids [10 0 R] /Count 3 0 R >>', 3: stream('', Buffer.from('1')) };
    expect(await pages(classicPdf(countInStream))).toBe(1);
  });

  it('takes pdfinfo’s count where the tree loops', async () => {
    const looping = { ...flatTree(1), 2: '<< /Type /Pages /Kids [10 0 R 3 0 R] /Count 1 >>', 3: '<< /Type /Pages /Kids [2 0 R] /Count 0 >>' };
    expect(await pages(classicPdf(looping))).toBe(1);
  });

  it('counts a catalog whose /Pages is a single page', async () => {
    expect(await pages(classicPdf({ 1: '<< /Type /Catalog /Pages 2 0 R >>', 2: '<< /Type /Page /MediaBox [0 0 1 1] >>' }))).toBe(1);
  });

  it('reports no_pages for an empty tree and for a /Pages that is no page tree', async () => {
    expect(await errorCode(classicPdf({ 1: '<< /Type /Catalog /Pages 2 0 R >>', 2: '<< /Type /Pages /Kids [] /Count 0 >>' }))).toBe('no_pages');
    expect(await errorCode(classicPdf({ 1: '<< /Type /Catalog /Pages 2 0 R >>', 2: '<< /S /JavaScript /JS (app.alert\\(1\\)) >>' }))).toBe('no_pages');
  });
});

describe('cross-reference data', () => {
  it('follows /Prev through an incremental update that adds a page', async () => {
    const base = classicPdf(flatTree(1));
    const updated = appendUpdate(base, { 2: '<< /Type /Pages /Kids [10 0 R 11 0 R] /Count 2 >>', 11: PAGE(2) }, 12);
    expect(await leanPages(base)).toBe(1);
    expect(await leanPages(updated)).toBe(2);
  });

  it('reads an object stream through a cross-reference stream with a PNG predictor', async () => {
    expect(await leanPages(objectStreamPdf(4))).toBe(4);
  });

  it('reads a hybrid file: the table lists compressed objects as free, /XRefStm finds them', async () => {
    expect(await leanPages(objectStreamPdf(3, true))).toBe(3);
  });

  it('counts offsets from the %PDF- header when bytes precede it, as poppler does', async () => {
    const shifted = Buffer.concat([Buffer.from('junk before the header\n'), classicPdf(flatTree(4))]);
    await expect(leanPages(shifted)).rejects.toThrow();
    expect(await pages(shifted)).toBe(4);
  });

  it('finds startxref before trailing junk', async () => {
    expect(await leanPages(Buffer.concat([classicPdf(flatTree(2)), Buffer.alloc(5000, 0x77)]))).toBe(2);
  });

  it('rebuilds a file whose xref table is broken, and pdf.js agrees', async () => {
    const whole = classicPdf(flatTree(4));
    const broken = Buffer.from(whole.toString('latin1').replace('xref\n0 ', 'xref\n0 x'), 'latin1');
    await expect(leanPages(broken)).rejects.toThrow();
    expect(await pages(broken)).toBe(4);
  });

  it('rebuilds a file cut before its startxref', async () => {
    const whole = classicPdf(flatTree(2));
    expect(await pages(whole.subarray(0, whole.lastIndexOf('startxref')))).toBe(2);
  });

  it('rebuilds from the last trailer, as poppler does; pdf.js reads another, so the answer is an error', async () => {
    const first = classicPdf(flatTree(1));
    const second = Buffer.from(
      '4 0 obj\n<< /Type /Catalog /Pages 5 0 R >>\nendobj\n5 0 obj\n<< /Type /Pages /Kids [10 0 R 6 0 R] /Count 2 >>\nendobj\n' +
        '6 0 obj\n<< /Type /Page >>\nendobj\ntrailer\n<< /Root 4 0 R >>\n',
    );
    const bytes = Buffer.concat([first.subarray(0, first.lastIndexOf('startxref')), second]);
    expect(await countPages(await rebuildFile(new RangeReader(new BufferSource(bytes), bytes.length), bytes))).toBe(2);
    expect(await errorCode(bytes)).toBe('corrupt_file');
  });

  it('does not rebuild from a cross-reference stream alone (poppler and qpdf cannot)', async () => {
    const bytes = objectStreamPdf(2);
    const broken = Buffer.from(bytes.toString('latin1').replace('startxref', 'startxxxx'), 'latin1');
    expect(await errorCode(broken)).toBe('corrupt_file');
  });

  it('fails as corrupt_file when nothing can be rebuilt', async () => {
    expect(await errorCode(Buffer.from('%PDF-1.4\nnothing here at all\n%%EOF\n'))).toBe('corrupt_file');
  });
});

describe('encryption (qpdf-made fixtures, scripts/fixtures-pdf.mjs)', () => {
  const fixture = (name: string) => readFileSync(join(assets, name));

  it.each([
    'owner-rc4-40.pdf',
    'owner-rc4-128-objstm.pdf',
    'owner-aes128-objstm.pdf',
    'owner-aes256-r5-objstm.pdf',
    'owner-aes256-r6-objstm.pdf',
    'owner-empty-aes256-r6.pdf',
  ])('opens %s without a password, decrypting any object stream', async (name) => {
    expect(await leanPages(fixture(name))).toBe(3);
  });

  it.each(['user-rc4-128.pdf', 'user-aes256-objstm.pdf'])('reports encrypted for %s, which needs a user password', async (name) => {
    expect(await errorCode(fixture(name))).toBe('encrypted');
  });

  it('reports encrypted for a security handler other than /Standard', async () => {
    expect(await errorCode(classicPdf({ ...flatTree(1), 3: '<< /Filter /Adobe.PubSec /V 4 /R 4 >>' }, '/Encrypt 3 0 R'))).toBe('encrypted');
  });

  it('reads the file as unencrypted where poppler does not support the handler', async () => {
    const identity = '<< /Filter /Standard /V 4 /R 4 /O <00> /U <00> /P -4 /CF << /StdCF << /CFM /AESV2 >> >> /StmF /StdCF /StrF /Identity >>';
    expect(await pages(classicPdf({ ...flatTree(2), 3: identity }, '/Encrypt 3 0 R'))).toBe(2);
  });
});

describe('linearized files', () => {
  const linearized = readFileSync(join(assets, 'linearized.pdf'));

  it('counts a linearized file whose /N agrees with its tree', async () => {
    expect(await leanPages(linearized)).toBe(3);
  });

  it('refuses a linearized file whose /N (what pdfinfo prints) disagrees with its tree', async () => {
    const text = linearized.toString('latin1');
    const at = text.indexOf('/N 3');
    expect(at).toBeGreaterThan(0);
    const patched = Buffer.from(linearized);
    patched.write('/N 4', at, 'latin1');
    expect(await errorCode(patched)).toBe('corrupt_file');
  });
});

describe('not a PDF', () => {
  it('reports empty_file and unsupported_format', async () => {
    expect(await errorCode(new Uint8Array(0))).toBe('empty_file');
    expect(await errorCode(Buffer.from('oops\n'))).toBe('unsupported_format');
  });
});
