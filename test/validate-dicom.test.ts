import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateDocument } from '../src/validate/index.js';
import { dicomTags } from './fixtures/specs/load.js';

type Tags = Record<string, any>;

function findings(tags: Tags) {
  return validateDocument({ tags }, { as: 'dicom' });
}

function codes(tags: Tags): string[] {
  return [...new Set(findings(tags).findings.map((finding) => finding.code))].sort();
}

/** The fixture's nested item holding one element of every VR family. */
const nested = (tags: Tags): Tags => tags['52009229'].Value[0]['00081140'].Value[0];

describe('DICOM tags', () => {
  it('accepts pydicom output with nested sequences, PN, AT, binary, ambiguous VRs and nulls', () => {
    const result = findings(dicomTags());
    expect(result.findings).toEqual([]);
    expect(result.valid).toBe(true);
  });

  const mutations: [string, (tags: Tags) => void, string[], boolean][] = [
    ['lowercase tag key', (t) => { t['0020000d'] = t['0020000D']; delete t['0020000D']; }, ['dicom_invalid_tag_key', 'dicom_missing_tag'], false],
    ['a tag Encord does not ask for', (t) => { t['00080060'] = { vr: 'CS', Value: ['CT'] }; }, ['dicom_unexpected_tag'], true],
    ['Rows with VR SS', (t) => { t['00280010'].vr = 'SS'; }, ['dicom_vr_mismatch'], false],
    ['Rows as a numeric string', (t) => { t['00280010'].Value = ['512']; }, ['dicom_numeric_string'], true],
    ['Rows out of the US range', (t) => { t['00280010'].Value = [70000]; }, ['dicom_invalid_value'], false],
    ['InstanceNumber not an integer', (t) => { t['00200013'].Value = [1.5]; }, ['dicom_invalid_value'], false],
    ['SliceThickness as a DS string', (t) => { t['00180050'].Value = ['1.25']; }, ['dicom_numeric_string'], true],
    ['SliceThickness not a number', (t) => { t['00180050'].Value = ['thick']; }, ['dicom_invalid_value'], false],
    ['UID as a number', (t) => { t['00080018'].Value = [1.2]; }, ['dicom_invalid_value'], false],
    ['Value and BulkDataURI together', (t) => { t['00100020'].BulkDataURI = 'https://x/1'; }, ['dicom_multiple_values'], false],
    ['InlineBinary on a string VR', (t) => { t['00100020'] = { vr: 'LO', InlineBinary: 'AAAA' }; }, ['dicom_invalid_value'], false],
    ['ImagePositionPatient with two values', (t) => { t['00200032'].Value = [0, 0]; }, ['dicom_vm_mismatch'], true],
    ['empty Value list', (t) => { t['00100020'].Value = []; }, ['dicom_empty_value'], true],
    ['extra key in an element', (t) => { t['00100020'].keyword = 'PatientID'; }, ['dicom_unknown_element_key'], true],
    ['element without vr', (t) => { t['00100020'] = { Value: ['x'] }; }, ['dicom_invalid_element'], false],
    ['Value not a list', (t) => { t['00100020'] = { vr: 'LO', Value: 'x' }; }, ['dicom_invalid_element'], false],
    ['nested OW with Value', (t) => { nested(t)['00281201'] = { vr: 'OW', Value: [1, 2] }; }, ['dicom_invalid_value'], false],
    ['nested InlineBinary not base64', (t) => { nested(t)['00281201'].InlineBinary = 'AAE'; }, ['dicom_invalid_value'], false],
    ['nested PN as a plain string', (t) => { nested(t)['00100010'].Value = ['Doe^John']; }, ['dicom_invalid_value'], false],
    ['nested PN with an unknown component', (t) => { nested(t)['00100010'].Value = [{ Family: 'Doe' }]; }, ['dicom_invalid_value'], false],
    ['nested AT in lowercase', (t) => { nested(t)['00209165'].Value = ['0020000e']; }, ['dicom_invalid_value'], false],
    ['nested AT as a number', (t) => { nested(t)['00209165'].Value = [2097166]; }, ['dicom_invalid_value'], false],
    ['nested null element', (t) => { nested(t)['00181030'] = null; }, ['dicom_invalid_element'], false],
    ['nested Value not a list', (t) => { nested(t)['00181030'] = { vr: 'LO', Value: 'x' }; }, ['dicom_invalid_element'], false],
    ['nested unknown VR', (t) => { nested(t)['00181030'] = { vr: 'XX' }; }, ['dicom_unknown_vr'], false],
    ['nested key not a tag', (t) => { nested(t).PatientName = { vr: 'PN' }; }, ['dicom_invalid_tag_key'], false],
    ['sequence item not an object', (t) => { t['52009230'].Value = [1]; }, ['dicom_invalid_value'], false],
    ['sequence with InlineBinary', (t) => { t['52009230'] = { vr: 'SQ', InlineBinary: 'AAAA' }; }, ['dicom_invalid_value'], false],
    ['FD value not finite-looking', (t) => { nested(t)['00189305'].Value = [true]; }, ['dicom_invalid_value'], false],
  ];

  it.each(mutations)('%s', (_name, mutate, expected, valid) => {
    const tags = dicomTags() as Tags;
    mutate(tags);
    expect(codes(tags)).toEqual(expected);
    expect(findings(tags).valid).toBe(valid);
  });

  it('points at the offending value inside nested sequences', () => {
    const tags = dicomTags() as Tags;
    nested(tags)['00209165'].Value = ['00200032', 'bad'];
    expect(findings(tags).findings).toMatchObject([
      { pointer: '/tags/52009229/Value/0/00081140/Value/0/00209165/Value/1', code: 'dicom_invalid_value', severity: 'error' },
    ]);
  });
});

const corpus = join(import.meta.dirname, '..', '..', 'shared', 'corpus', 'expected.jsonl');

describe.skipIf(!existsSync(corpus))('ground-truth metadata of the shared corpus', () => {
  // A skipped describe still runs its body to collect tests: read only when the corpus is there.
  const records = (existsSync(corpus) ? readFileSync(corpus, 'utf8') : '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { file: string; modality: string; status: string; metadata?: unknown })
    .filter((record) => record.status === 'ok' && record.metadata && record.modality !== 'nifti');

  it('has records of every modality', () => {
    expect(new Set(records.map((record) => record.modality))).toEqual(new Set(['image', 'video', 'audio', 'text', 'pdf', 'dicom']));
  });

  it('validates without errors, as its modality and as detected', () => {
    const failures = records.flatMap((record) => {
      const result = validateDocument(record.metadata, { as: record.modality });
      const detected = validateDocument(record.metadata).kind;
      const errors = result.findings.filter((finding) => finding.severity === 'error');
      return errors.length > 0 || detected !== record.modality ? [{ file: record.file, detected, errors }] : [];
    });
    expect(failures).toEqual([]);
  });
});
