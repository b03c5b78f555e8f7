/**
 * Writes minimal DICOM Part 10 files (explicit VR little endian) from a list of elements, so
 * tests can build series with known tags without third-party files. Only the VRs the tests
 * use are encoded: strings (padded to even length as the standard says), US, and raw OB/OW.
 */

export interface DicomElement {
  /** Tag as 8 hex digits, group then element: '0020000E'. */
  tag: string;
  vr: string;
  /** Strings are joined with '\' for multiple values; numbers for US; bytes for OB/OW. */
  value: string | string[] | number | number[] | Uint8Array;
}

const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

export function writeDicom(elements: DicomElement[]): Buffer {
  const sopInstance = elements.find((element) => element.tag === '00080018')?.value;
  const meta = [
    { tag: '00020001', vr: 'OB', value: Uint8Array.of(0, 1) },
    { tag: '00020002', vr: 'UI', value: CT_IMAGE_STORAGE },
    { tag: '00020003', vr: 'UI', value: typeof sopInstance === 'string' ? sopInstance : '1.2.3' },
    { tag: '00020010', vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
  ].map(encodeElement);
  const metaBytes = Buffer.concat(meta);
  const groupLength = encodeElement({ tag: '00020000', vr: 'UL', value: metaBytes.byteLength });
  const body = [...elements].sort((a, b) => (a.tag.toUpperCase() < b.tag.toUpperCase() ? -1 : 1)).map(encodeElement);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM', 'latin1'), groupLength, metaBytes, ...body]);
}

function encodeElement(element: DicomElement): Buffer {
  const value = encodeValue(element);
  const group = Number.parseInt(element.tag.slice(0, 4), 16);
  const number = Number.parseInt(element.tag.slice(4), 16);
  const long = LONG_LENGTH_VRS.has(element.vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(number, 2);
  header.write(element.vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.byteLength, 8);
  else header.writeUInt16LE(value.byteLength, 6);
  return Buffer.concat([header, value]);
}

function encodeValue({ vr, value }: DicomElement): Buffer {
  if (value instanceof Uint8Array) return padEven(Buffer.from(value), 0);
  if (vr === 'US' || vr === 'UL') {
    const numbers = Array.isArray(value) ? value.map(Number) : [Number(value)];
    const size = vr === 'US' ? 2 : 4;
    const bytes = Buffer.alloc(numbers.length * size);
    numbers.forEach((n, i) => (size === 2 ? bytes.writeUInt16LE(n, i * 2) : bytes.writeUInt32LE(n, i * 4)));
    return bytes;
  }
  const text = Array.isArray(value) ? value.map(String).join('\\') : String(value);
  return padEven(Buffer.from(text, 'latin1'), vr === 'UI' ? 0 : 0x20);
}

function padEven(bytes: Buffer, pad: number): Buffer {
  return bytes.byteLength % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.of(pad)]);
}

export interface SliceOptions {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  instanceNumber: number;
  /** z of ImagePositionPatient; x and y are 0. */
  z: number;
  patientId?: string;
  rows?: number;
  columns?: number;
  /** Tags to leave out of the file, to test missing elements. */
  omit?: string[];
}

/** One axial CT slice (16-bit monochrome, orientation 1\0\0\0\1\0) with every tag a series check reads. */
export function ctSlice(options: SliceOptions): Buffer {
  const rows = options.rows ?? 4;
  const columns = options.columns ?? 4;
  const elements: DicomElement[] = [
    { tag: '00080016', vr: 'UI', value: CT_IMAGE_STORAGE },
    { tag: '00080018', vr: 'UI', value: options.sopUid },
    { tag: '00080060', vr: 'CS', value: 'CT' },
    { tag: '00100020', vr: 'LO', value: options.patientId ?? 'PAT-1' },
    { tag: '00180050', vr: 'DS', value: '2.5' },
    { tag: '0020000D', vr: 'UI', value: options.studyUid },
    { tag: '0020000E', vr: 'UI', value: options.seriesUid },
    { tag: '00200013', vr: 'IS', value: String(options.instanceNumber) },
    { tag: '00200032', vr: 'DS', value: ['0', '0', String(options.z)] },
    { tag: '00200037', vr: 'DS', value: ['1', '0', '0', '0', '1', '0'] },
    { tag: '00280002', vr: 'US', value: 1 },
    { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
    { tag: '00280010', vr: 'US', value: rows },
    { tag: '00280011', vr: 'US', value: columns },
    { tag: '00280030', vr: 'DS', value: ['0.5', '0.5'] },
    { tag: '00280100', vr: 'US', value: 16 },
    { tag: '00280101', vr: 'US', value: 12 },
    { tag: '00280102', vr: 'US', value: 11 },
    { tag: '00280103', vr: 'US', value: 0 },
    { tag: '00281050', vr: 'DS', value: '40' },
    { tag: '00281051', vr: 'DS', value: '400' },
    { tag: '7FE00010', vr: 'OW', value: new Uint8Array(rows * columns * 2) },
  ];
  const omit = new Set(options.omit ?? []);
  return writeDicom(elements.filter((element) => !omit.has(element.tag)));
}
