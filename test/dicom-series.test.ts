import { describe, expect, it } from 'vitest';
import { REQUIRED_DICOM_TAGS } from '../src/schema/dicom.js';
import type { DicomJsonElement } from '../src/schema/metadata.js';
import { checkDicomSeries } from '../src/validate/dicom-series.js';
import type { DicomSeriesFile } from '../src/validate/series.js';

interface SliceOptions {
  series?: string;
  study?: string;
  sop?: string;
  instance?: number;
  z?: number;
  orientation?: number[];
  rows?: number;
  window?: [number[], number[]];
  frames?: unknown;
  geometry?: boolean;
}

const value = (vr: string, values: unknown[]): DicomJsonElement => ({ vr, Value: values });

/** The 22 tags of one axial CT slice, as the DICOM probe writes them. */
function slice(index: number, options: SliceOptions = {}): DicomSeriesFile {
  const tags: Record<string, DicomJsonElement | null> = Object.fromEntries(REQUIRED_DICOM_TAGS.map((t) => [t.tag, null]));
  const geometry = options.geometry ?? true;
  Object.assign(tags, {
    '00080018': value('UI', [options.sop ?? `1.2.3.4.${index}`]),
    '0020000D': value('UI', [options.study ?? '1.2.3.1']),
    '0020000E': value('UI', [options.series ?? '1.2.3.2']),
    '00200013': value('IS', [options.instance ?? index + 1]),
    '00280010': value('US', [options.rows ?? 512]),
    '00280011': value('US', [512]),
    '00281050': value('DS', options.window?.[0] ?? [40]),
    '00281051': value('DS', options.window?.[1] ?? [400]),
  });
  if (geometry) {
    Object.assign(tags, {
      '00200032': value('DS', [-100, -100, options.z ?? index * 2.5]),
      '00200037': value('DS', options.orientation ?? [1, 0, 0, 0, 1, 0]),
      '00280030': value('DS', [0.5, 0.5]),
      '00180050': value('DS', [2.5]),
    });
  }
  if (options.frames !== undefined) tags['00280008'] = value('IS', [options.frames]);
  return { file: `slice-${index}.dcm`, pointer: `/dataUnits/${index}`, tags };
}

const series = (count: number, options: (i: number) => SliceOptions = () => ({})) =>
  Array.from({ length: count }, (_, i) => slice(i, options(i)));

const codes = (files: DicomSeriesFile[]) => checkDicomSeries(files).map((f) => `${f.code}@${f.file}`);

describe('checkDicomSeries', () => {
  it('finds nothing wrong with a regular series', () => {
    expect(checkDicomSeries(series(20))).toEqual([]);
  });

  it('requires one StudyInstanceUID per series', () => {
    const findings = checkDicomSeries(series(5, (i) => ({ study: i === 3 ? '1.2.3.9' : undefined })));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      code: 'dicom_inconsistent_study_uid',
      severity: 'error',
      file: 'slice-3.dcm',
      pointer: '/dataUnits/3/tags/0020000D',
    });
    expect(findings[0]!.message).toContain('slice-0.dcm');
  });

  it('requires unique SOPInstanceUIDs', () => {
    expect(codes(series(4, (i) => ({ sop: i >= 2 ? '1.2.3.4.2' : undefined })))).toEqual([
      'dicom_duplicate_sop_instance_uid@slice-2.dcm',
      'dicom_duplicate_sop_instance_uid@slice-3.dcm',
    ]);
  });

  it('requires UIDs of 1 to 64 characters', () => {
    const files = series(3);
    files[1]!.tags['00080018'] = value('UI', [`1.${'2'.repeat(63)}`]);
    files[2]!.tags['0020000D'] = null;
    expect(codes(files)).toEqual(['dicom_invalid_uid@slice-1.dcm', 'dicom_invalid_uid@slice-2.dcm']);
  });

  it('requires consistent Rows/Columns, orientation and window settings', () => {
    expect(codes(series(6, (i) => ({ rows: i === 5 ? 256 : undefined })))).toEqual(['dicom_inconsistent_rows_columns@slice-5.dcm']);
    const tilted = series(6, (i) => ({ orientation: i === 0 ? [1, 0, 0, 0, 0.9, 0.1] : undefined }));
    expect(codes(tilted)).toContain('dicom_inconsistent_orientation@slice-0.dcm');
    expect(codes(series(6, (i) => ({ window: i === 4 ? [[50], [350]] : undefined })))).toEqual(['dicom_inconsistent_window@slice-4.dcm']);
    expect(codes([slice(0, { window: [[40, 50], [400]] })])).toEqual(['dicom_invalid_window@slice-0.dcm']);
  });

  it('requires a positive NumberOfFrames that matches the per-frame groups', () => {
    expect(codes([slice(0, { frames: 0 }), slice(1, { frames: 1.5 })])).toEqual([
      'dicom_invalid_number_of_frames@slice-0.dcm',
      'dicom_invalid_number_of_frames@slice-1.dcm',
    ]);
    const enhanced = slice(0, { frames: 3, geometry: false });
    enhanced.tags['52009230'] = value('SQ', [{}, {}]);
    expect(codes([enhanced])).toContain('dicom_invalid_number_of_frames@slice-0.dcm');
  });

  it('accepts 97 % of regular slice gaps and no fewer', () => {
    const oneMissing = series(41).filter((_, i) => i !== 20); // 38 of 39 gaps regular: 97.4 %
    expect(codes(oneMissing)).toEqual([]);
    const twoMissing = series(42).filter((_, i) => i !== 10 && i !== 30); // 37 of 39: 94.9 %
    const findings = checkDicomSeries(twoMissing);
    expect(findings.map((f) => f.code)).toEqual(['dicom_irregular_slice_spacing']);
    expect(findings[0]!.message).toContain('37 of 39');
    expect(findings[0]!.message).toContain('slice-11.dcm');
  });

  it('orders slices by InstanceNumber, then along the slice normal', () => {
    // Positions listed in reverse of instance order along a sagittal normal: still regular.
    const sagittal = series(10, () => ({ orientation: [0, 1, 0, 0, 0, -1], z: 0 })).map((file, i) => {
      file.tags['00200032'] = value('DS', [-2.5 * i, 0, 0]);
      return file;
    });
    expect(codes(sagittal)).toEqual([]);
    const duplicated = series(10, (i) => ({ z: i === 5 ? 4 * 2.5 : undefined }));
    expect(codes(duplicated)).toContain('dicom_irregular_slice_spacing@slice-0.dcm');
  });

  it('checks the frames of an enhanced multi-frame file', () => {
    const file = slice(0, { frames: 4, geometry: false });
    file.tags['52009229'] = value('SQ', [
      {
        '00209116': value('SQ', [{ '00200037': value('DS', [1, 0, 0, 0, 1, 0]) }]),
        '00289110': value('SQ', [{ '00280030': value('DS', [0.5, 0.5]), '00180050': value('DS', [1]) }]),
      },
    ]);
    const frames = (zs: number[]) => value('SQ', zs.map((z) => ({ '00209113': value('SQ', [{ '00200032': value('DS', [0, 0, z]) }]) })));
    file.tags['52009230'] = frames([0, 1, 2, 3]);
    expect(checkDicomSeries([file])).toEqual([]);
    file.tags['52009230'] = frames([0, 1, 5, 9]);
    expect(codes([file])).toEqual(['dicom_irregular_slice_spacing@slice-0.dcm']);
  });

  it('warns once per missing geometry tag', () => {
    const findings = checkDicomSeries(series(3, () => ({ geometry: false })));
    expect(findings.map((f) => [f.code, f.severity, f.pointer])).toEqual([
      ['dicom_missing_geometry', 'warning', '/dataUnits/0/tags/00200032'],
      ['dicom_missing_geometry', 'warning', '/dataUnits/0/tags/00200037'],
      ['dicom_missing_geometry', 'warning', '/dataUnits/0/tags/00280030'],
      ['dicom_missing_geometry', 'warning', '/dataUnits/0/tags/00180050'],
    ]);
    expect(findings[0]!.message).toContain('slice-0.dcm, slice-1.dcm, slice-2.dcm');
  });

  it('checks each series on its own', () => {
    const a = series(4, () => ({ series: '1.1', study: '9.1' }));
    const b = series(4, (i) => ({ series: '1.2', study: '9.2', sop: `5.${i}`, rows: 256 }));
    expect(checkDicomSeries([...a, ...b])).toEqual([]);
  });
});
