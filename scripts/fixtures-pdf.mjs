#!/usr/bin/env node
// Regenerates the committed PDF fixtures in test-assets/pdf/: a 3-page document written by
// pdf-lib, then encrypted and linearized by qpdf (qpdf is needed only here, never by tests).
//
//   node scripts/fixtures-pdf.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';

const out = join(import.meta.dirname, '..', 'test-assets', 'pdf');
const work = mkdtempSync(join(tmpdir(), 'pdf-fixtures-'));
const base = join(work, 'base.pdf');

const doc = await PDFDocument.create();
for (let i = 0; i < 3; i++) doc.addPage([200, 200]).drawText(`page ${i + 1}`, { x: 20, y: 100 });
writeFileSync(base, await doc.save({ useObjectStreams: false }));

const weak = ['--allow-weak-crypto'];
const objstm = ['--object-streams=generate'];
const variants = {
  // Empty user password: pdfinfo opens these without asking.
  'owner-rc4-40.pdf': [...weak, '--encrypt', '', 'owner', '40', '--'],
  'owner-rc4-128-objstm.pdf': [...weak, ...objstm, '--encrypt', '', 'owner', '128', '--use-aes=n', '--'],
  'owner-aes128-objstm.pdf': [...objstm, '--encrypt', '', 'owner', '128', '--use-aes=y', '--'],
  'owner-aes256-r5-objstm.pdf': [...objstm, '--encrypt', '', 'owner', '256', '--force-R5', '--'],
  'owner-aes256-r6-objstm.pdf': [...objstm, '--encrypt', '', 'owner', '256', '--'],
  // A user password but an empty owner password, which poppler tries too.
  'owner-empty-aes256-r6.pdf': ['--encrypt', 'user', '', '256', '--allow-insecure', '--'],
  // A user password: pdfinfo cannot open these without it.
  'user-rc4-128.pdf': [...weak, '--encrypt', 'user', 'owner', '128', '--use-aes=n', '--'],
  'user-aes256-objstm.pdf': [...objstm, '--encrypt', 'user', 'owner', '256', '--'],
  'linearized.pdf': ['--linearize'],
};
for (const [name, args] of Object.entries(variants)) {
  execFileSync('qpdf', [...args, base, join(out, name)]);
}
rmSync(work, { recursive: true });
console.log(`wrote ${Object.keys(variants).length} fixtures to ${out}`);
