import { afterEach, describe, expect, it } from 'vitest';
import { checkDicomSeries } from '../src/validate/dicom-series.js';
import { setDicomSeriesChecker, validateDocument, type DicomSeriesFile } from '../src/validate/index.js';
import { dicomTags } from './fixtures/specs/load.js';

/**
 * How series reach the cross-file DICOM checks (tested on their own in their owner's tests): a
 * recording checker sees that each series arrives whole, in frame order, with pointers into the
 * document, and that its findings are reported; then the real checks run by default.
 */
describe('DICOM series checks', () => {
  afterEach(() => setDicomSeriesChecker(checkDicomSeries));

  const seen: DicomSeriesFile[][] = [];
  const checker = (files: DicomSeriesFile[]) => {
    seen.push(files);
    return [{ pointer: files[0]!.pointer, code: 'dicom_series_checked', severity: 'warning' as const, message: `${files.length} files` }];
  };

  it('passes every series of an upload file and of dataItems, in order', () => {
    setDicomSeriesChecker(checker);
    const tags = dicomTags();
    const uploadFile = {
      dicom_series: [
        { title: 's', objectUrl_1: 's3://b/2.dcm', dicomMetadata_1: { tags }, objectUrl_0: 's3://b/1.dcm', dicomMetadata_0: { tags } },
        { title: 'no metadata', objectUrl_0: 's3://b/3.dcm' },
      ],
    };
    const result = validateDocument(uploadFile);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map(({ file, pointer }) => [file, pointer])).toEqual([
      ['s3://b/1.dcm', '/dicom_series/0/dicomMetadata_0'],
      ['s3://b/2.dcm', '/dicom_series/0/dicomMetadata_1'],
    ]);
    expect(seen[0]![0]!.tags).toEqual(tags);
    expect(result.findings).toEqual([{ pointer: '/dicom_series/0/dicomMetadata_0', code: 'dicom_series_checked', severity: 'warning', message: '2 files' }]);

    seen.length = 0;
    validateDocument({ dicomSeries: [{ title: 's', dicomFiles: [{ url: 's3://b/1.dcm', dicomMetadata: { tags } }] }] });
    expect(seen.map((files) => files.map(({ pointer }) => pointer))).toEqual([['/dicomSeries/0/dicomFiles/0/dicomMetadata']]);
  });

  it('run by default: two files of one series from different studies', () => {
    const other = { ...dicomTags(), '00080018': { vr: 'UI', Value: ['1.2.3.4.5'] }, '0020000D': { vr: 'UI', Value: ['9.9.9'] } };
    const tags = dicomTags();
    const series = { title: 's', objectUrl_0: 's3://b/1.dcm', dicomMetadata_0: { tags }, objectUrl_1: 's3://b/2.dcm', dicomMetadata_1: { tags: other } };
    const codes = validateDocument({ dicom_series: [series] }).findings.map((finding) => finding.code);
    expect(codes).toEqual(['dicom_inconsistent_study_uid']);
    setDicomSeriesChecker(undefined);
    expect(validateDocument({ dicom_series: [series] }).findings).toEqual([]);
  });
});
