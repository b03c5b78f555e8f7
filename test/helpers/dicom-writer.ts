// @ts-expect-error: a plain ES module shared with scripts/ (no type declarations)
import { dicomFile, pixelData } from '../../scripts/fixtures-dicom.mjs';

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

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
  /** Tags (8 hex digits) to leave out of the file, to test missing elements. */
  omit?: string[];
}

/**
 * One axial CT slice (16-bit monochrome, orientation 1\0\0\0\1\0) with every tag a series check
 * reads, written by the hand-built DICOM writer in scripts/fixtures-dicom.mjs.
 */
export function ctSlice(options: SliceOptions): Buffer {
  const rows = options.rows ?? 4;
  const columns = options.columns ?? 4;
  const elements = [
    { tag: 0x00080016, vr: 'UI', value: CT_IMAGE_STORAGE },
    { tag: 0x00080018, vr: 'UI', value: options.sopUid },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00100020, vr: 'LO', value: options.patientId ?? 'PAT-1' },
    { tag: 0x00180050, vr: 'DS', value: '2.5' },
    { tag: 0x0020000d, vr: 'UI', value: options.studyUid },
    { tag: 0x0020000e, vr: 'UI', value: options.seriesUid },
    { tag: 0x00200013, vr: 'IS', value: String(options.instanceNumber) },
    { tag: 0x00200032, vr: 'DS', value: `0\\0\\${options.z}` },
    { tag: 0x00200037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { tag: 0x00280002, vr: 'US', value: [1] },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: [rows] },
    { tag: 0x00280011, vr: 'US', value: [columns] },
    { tag: 0x00280030, vr: 'DS', value: '0.5\\0.5' },
    { tag: 0x00280100, vr: 'US', value: [16] },
    { tag: 0x00280101, vr: 'US', value: [12] },
    { tag: 0x00280102, vr: 'US', value: [11] },
    { tag: 0x00280103, vr: 'US', value: [0] },
    { tag: 0x00281050, vr: 'DS', value: '40' },
    { tag: 0x00281051, vr: 'DS', value: '400' },
    pixelData(new Uint8Array(rows * columns * 2)),
  ];
  const omit = new Set((options.omit ?? []).map((tag) => parseInt(tag, 16)));
  return dicomFile(elements.filter((element) => !omit.has(element.tag))) as Buffer;
}
