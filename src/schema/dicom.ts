/**
 * The DICOM tags Encord requires in CustomerProvidedDicomSeriesDicomFileMetadata.tags (SDK
 * docstring, same order), with VR and VM from pydicom's data dictionary.
 */
export interface RequiredDicomTag {
  tag: string;
  keyword: string;
  vr: string;
  /** Value multiplicity: a count, or the least count for '1-n'. */
  vm: { min: number; max: number };
}

function tag(tag: string, keyword: string, vr: string, vm: string): RequiredDicomTag {
  const [min, max] = vm.split('-');
  return {
    tag,
    keyword,
    vr,
    vm: { min: Number(min), max: max === undefined ? Number(min) : max === 'n' ? Infinity : Number(max) },
  };
}

export const REQUIRED_DICOM_TAGS: readonly RequiredDicomTag[] = [
  tag('00080018', 'SOPInstanceUID', 'UI', '1'),
  tag('00100020', 'PatientID', 'LO', '1'),
  tag('00180050', 'SliceThickness', 'DS', '1'),
  tag('00181114', 'EstimatedRadiographicMagnificationFactor', 'DS', '1'),
  tag('00181164', 'ImagerPixelSpacing', 'DS', '2'),
  tag('0020000D', 'StudyInstanceUID', 'UI', '1'),
  tag('0020000E', 'SeriesInstanceUID', 'UI', '1'),
  tag('00200013', 'InstanceNumber', 'IS', '1'),
  tag('00200032', 'ImagePositionPatient', 'DS', '3'),
  tag('00200037', 'ImageOrientationPatient', 'DS', '6'),
  tag('00209113', 'PlanePositionSequence', 'SQ', '1'),
  tag('00209116', 'PlaneOrientationSequence', 'SQ', '1'),
  tag('00280004', 'PhotometricInterpretation', 'CS', '1'),
  tag('00280008', 'NumberOfFrames', 'IS', '1'),
  tag('00280010', 'Rows', 'US', '1'),
  tag('00280011', 'Columns', 'US', '1'),
  tag('00280030', 'PixelSpacing', 'DS', '2'),
  tag('00281050', 'WindowCenter', 'DS', '1-n'),
  tag('00281051', 'WindowWidth', 'DS', '1-n'),
  tag('00289110', 'PixelMeasuresSequence', 'SQ', '1'),
  tag('52009229', 'SharedFunctionalGroupsSequence', 'SQ', '1'),
  tag('52009230', 'PerFrameFunctionalGroupsSequence', 'SQ', '1'),
];

export const REQUIRED_DICOM_TAG_KEYS: readonly string[] = REQUIRED_DICOM_TAGS.map((entry) => entry.tag);

/** pydicom writes tag keys as 8 uppercase hex digits. */
export const DICOM_TAG_KEY_PATTERN = /^[0-9A-F]{8}$/;
