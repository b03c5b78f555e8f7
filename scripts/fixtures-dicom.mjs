#!/usr/bin/env node
// Hand-built DICOM bytes for the DICOM tests: elements, sequences and files in every transfer
// syntax the probe reads (implicit VR LE, explicit VR LE/BE, deflated), with or without the
// preamble and file meta. Run directly to write the sample files to a folder (for checking them
// with pydicom or dcmdump):  node scripts/fixtures-dicom.mjs OUT_DIR
//
// An element is { tag, vr, value, undefinedLength?, length? } where value is a string (text
// VRs, padded to even length), an array of numbers (binary number VRs and AT), a Uint8Array
// (written as is) or, for SQ, an array of items, each an array of elements (or
// { elements, undefinedLength }).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
};

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const NUMBER_SIZES = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, AT: 4 };

function concat(parts) {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

function u16(value, le) {
  const b = Buffer.alloc(2);
  if (le) b.writeUInt16LE(value);
  else b.writeUInt16BE(value);
  return b;
}

function u32(value, le) {
  const b = Buffer.alloc(4);
  if (le) b.writeUInt32LE(value >>> 0);
  else b.writeUInt32BE(value >>> 0);
  return b;
}

function tagBytes(tag, le) {
  return concat([u16(tag >>> 16, le), u16(tag & 0xffff, le)]);
}

function numbersBytes(vr, values, le) {
  const size = NUMBER_SIZES[vr];
  const b = Buffer.alloc(size * values.length);
  values.forEach((v, i) => {
    const at = i * size;
    if (vr === 'AT') b.set(tagBytes(v, le), at);
    else if (vr === 'US') le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at);
    else if (vr === 'SS') le ? b.writeInt16LE(v, at) : b.writeInt16BE(v, at);
    else if (vr === 'UL') le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at);
    else if (vr === 'SL') le ? b.writeInt32LE(v, at) : b.writeInt32BE(v, at);
    else if (vr === 'FL') le ? b.writeFloatLE(v, at) : b.writeFloatBE(v, at);
    else le ? b.writeDoubleLE(v, at) : b.writeDoubleBE(v, at);
  });
  return b;
}

function valueBytes(element, options) {
  const { vr, value } = element;
  if (value instanceof Uint8Array) return value;
  if (vr === 'SQ') return sequenceBytes(value, element.undefinedLength, options);
  if (Array.isArray(value)) return numbersBytes(vr, value, options.littleEndian);
  const bytes = Buffer.from(value, 'latin1');
  return bytes.length % 2 === 0 ? bytes : concat([bytes, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
}

/** One data element; `length` overrides the declared length (to write broken files). */
export function element(el, options) {
  const le = options.littleEndian;
  const value = valueBytes(el, options);
  const length = el.undefinedLength ? 0xffffffff : (el.length ?? value.length);
  if (options.implicit) return concat([tagBytes(el.tag, le), u32(length, le), value]);
  if (LONG_VRS.has(el.vr)) return concat([tagBytes(el.tag, le), Buffer.from(el.vr, 'latin1'), Buffer.alloc(2), u32(length, le), value]);
  return concat([tagBytes(el.tag, le), Buffer.from(el.vr, 'latin1'), u16(length, le), value]);
}

export function dataset(elements, options) {
  return concat(elements.map((el) => element(el, options)));
}

function sequenceBytes(items, undefinedLength, options) {
  const le = options.littleEndian;
  const parts = items.map((entry) => {
    const { elements, undefinedLength: open } = Array.isArray(entry) ? { elements: entry, undefinedLength: false } : entry;
    const body = dataset(elements, options);
    if (!open) return concat([tagBytes(0xfffee000, le), u32(body.length, le), body]);
    return concat([tagBytes(0xfffee000, le), u32(0xffffffff, le), body, tagBytes(0xfffee00d, le), u32(0, le)]);
  });
  if (undefinedLength) parts.push(concat([tagBytes(0xfffee0dd, le), u32(0, le)]));
  return concat(parts);
}

/** Preamble, 'DICM' and the file meta group (always explicit VR little endian). */
export function fileMeta(transferSyntax, { preamble = true } = {}) {
  const options = { littleEndian: true, implicit: false };
  const body = dataset(
    [
      { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0, 1) },
      { tag: 0x00020002, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' },
      { tag: 0x00020003, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.1' },
      { tag: 0x00020010, vr: 'UI', value: transferSyntax },
    ],
    options,
  );
  const group = element({ tag: 0x00020000, vr: 'UL', value: [body.length] }, options);
  return concat([preamble ? concat([Buffer.alloc(128), Buffer.from('DICM')]) : Buffer.alloc(0), group, body]);
}

/**
 * A whole file: `transferSyntax` decides the data set encoding; `meta: false` writes the data set
 * alone (no preamble, no meta), as old files and pydicom's no-meta test files are.
 */
export function dicomFile(elements, { transferSyntax = TS.explicitLE, meta = true, preamble = true } = {}) {
  const implicit = transferSyntax === TS.implicitLE;
  const littleEndian = transferSyntax !== TS.explicitBE;
  let body = dataset(elements, { implicit, littleEndian });
  if (transferSyntax === TS.deflated) body = deflateRawSync(body);
  return meta ? concat([fileMeta(transferSyntax, { preamble }), body]) : body;
}

/** Elements of a small CT slice that carries most of the 22 required tags. */
export function ctSlice({ instance = 1, z = 0, sop = `1.2.826.0.1.3680043.8.498.2.${instance}` } = {}) {
  return [
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 100' },
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' },
    { tag: 0x00080018, vr: 'UI', value: sop },
    { tag: 0x00100010, vr: 'PN', value: 'Doe^Jane' },
    { tag: 0x00100020, vr: 'LO', value: 'PAT-\xe9' },
    { tag: 0x00180050, vr: 'DS', value: '2.5' },
    { tag: 0x0020000d, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.3' },
    { tag: 0x0020000e, vr: 'UI', value: '1.2.826.0.1.3680043.8.498.4' },
    { tag: 0x00200013, vr: 'IS', value: String(instance) },
    { tag: 0x00200032, vr: 'DS', value: `-125\\-125\\${z}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: [4] },
    { tag: 0x00280011, vr: 'US', value: [4] },
    { tag: 0x00280030, vr: 'DS', value: '0.48828125\\0.48828125' },
    { tag: 0x00280100, vr: 'US', value: [16] },
    { tag: 0x00280103, vr: 'US', value: [1] },
    { tag: 0x00281050, vr: 'DS', value: '40\\400' },
    { tag: 0x00281051, vr: 'DS', value: '400\\2000' },
  ];
}

export const pixelData = (bytes, vr = 'OW') => ({ tag: 0x7fe00010, vr, value: bytes });

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? 'dicom-fixtures';
  mkdirSync(out, { recursive: true });
  const slice = [...ctSlice(), pixelData(new Uint8Array(32))];
  for (const [name, ts] of Object.entries(TS).filter(([n]) => n !== 'jpegBaseline')) {
    writeFileSync(join(out, `ct-${name}.dcm`), dicomFile(slice, { transferSyntax: ts }));
  }
  writeFileSync(join(out, 'ct-no-meta-implicit.dcm'), dicomFile(slice, { transferSyntax: TS.implicitLE, meta: false }));
  console.log(`wrote DICOM fixtures to ${out}`);
}
