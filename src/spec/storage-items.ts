import { availableParallelism } from 'node:os';
import { toEncordMediaError } from '../errors.js';
import { probe, type ProbeResult } from '../probes/index.js';
import type { Modality } from '../probes/types.js';
import { snakeToCamel } from '../schema/casing.js';
import type { CustomerProvidedDicomSeriesDicomFileMetadata } from '../schema/metadata.js';
import { pointerJoin } from '../validate/finding.js';
import { sameFieldValue, show } from './compare.js';
import { SOP_INSTANCE_UID, STUDY_INSTANCE_UID, SERIES_INSTANCE_UID, firstString, tagValues } from './dicom.js';
import { field, isObject } from './forms.js';
import { mapOrdered } from './ordered.js';
import type { VerifyFinding, VerifyOptions } from './verify.js';

/**
 * Audits StorageItem records as the SDK returns them (snake_case or camelCase keys): probes each
 * item's URL and reports every stored value the file disagrees with. Null or absent stored
 * values are not claims and are skipped.
 */
export interface StorageRecord {
  /** JSON Pointer of the record in its array ('/3'), or its JSONL line ('/line/4'). */
  pointer: string;
  record: unknown;
}

export interface AuditedItem {
  pointer: string;
  url?: string;
  findings: VerifyFinding[];
}

/** Stored field -> how to read the same fact from a probe result. */
const STORED_FIELDS: Record<string, (result: ProbeResult) => unknown> = {
  file_size: (result) => metadataField(result, 'file_size'),
  mime_type: (result) => metadataField(result, 'mime_type'),
  width: (result) => metadataField(result, 'width'),
  height: (result) => metadataField(result, 'height'),
  fps: (result) => metadataField(result, 'fps'),
  duration: (result) => metadataField(result, 'duration'),
  audio_sample_rate: (result) => metadataField(result, 'sample_rate'),
  audio_bit_depth: (result) => metadataField(result, 'bit_depth'),
  audio_codec: (result) => metadataField(result, 'codec'),
  audio_num_channels: (result) => metadataField(result, 'num_channels'),
  dicom_instance_uid: (result) => dicomTag(result, SOP_INSTANCE_UID),
  dicom_study_uid: (result) => dicomTag(result, STUDY_INSTANCE_UID),
  dicom_series_uid: (result) => dicomTag(result, SERIES_INSTANCE_UID),
  // A single-frame DICOM file often has no NumberOfFrames: it holds one frame.
  frame_count: (result) => (result.modality === 'dicom' ? Number(tagValues(tags(result), '00280008')[0] ?? 1) : undefined),
};

const ITEM_TYPES: Record<Modality, string> = {
  video: 'video',
  image: 'image',
  audio: 'audio',
  text: 'plainText',
  pdf: 'pdf',
  dicom: 'dicomFile',
  nifti: 'nifti',
};

function metadataField(result: ProbeResult, name: string): unknown {
  return result.modality === 'dicom' ? undefined : (result.metadata as unknown as Record<string, unknown>)[name];
}

function tags(result: ProbeResult): CustomerProvidedDicomSeriesDicomFileMetadata['tags'] {
  return (result.metadata as CustomerProvidedDicomSeriesDicomFileMetadata).tags;
}

function dicomTag(result: ProbeResult, tag: string): unknown {
  return result.modality === 'dicom' ? firstString(tags(result), tag) : undefined;
}

export async function* auditStorageItems(records: AsyncIterable<StorageRecord> | Iterable<StorageRecord>, options: VerifyOptions = {}): AsyncGenerator<AuditedItem> {
  yield* mapOrdered(records, options.concurrency ?? availableParallelism(), (record) => auditOne(record, options));
}

async function auditOne({ pointer, record }: StorageRecord, options: VerifyOptions): Promise<AuditedItem> {
  if (!isObject(record)) return { pointer, findings: [{ pointer, url: '', code: 'not_a_storage_item', severity: 'error', message: 'not a JSON object' }] };
  const url = typeof record.url === 'string' ? record.url : undefined;
  const signedUrl = field(record, 'signed_url');
  if (!url) return { pointer, findings: [{ pointer, url: '', code: 'no_url', severity: 'warning', message: 'no url: nothing to check against' }] };
  // A cloud URL we cannot read directly may still be reachable through its signed URL.
  const located = options.locate?.(url);
  const input = located !== undefined && located !== url ? located : typeof signedUrl === 'string' ? signedUrl : url;
  let result: ProbeResult;
  try {
    result = await probe(input, options.probe);
  } catch (error) {
    const { code, message } = toEncordMediaError(error, url).toJSON();
    return { pointer, url, findings: [{ pointer, url, code: 'unreadable', severity: 'error', message: `cannot be described (${code}): ${message}` }] };
  }
  return { pointer, url, findings: compareRecord(record, result, pointer, url) };
}

function compareRecord(record: Record<string, unknown>, result: ProbeResult, pointer: string, url: string): VerifyFinding[] {
  const findings: VerifyFinding[] = [];
  const itemType = field(record, 'item_type');
  if (typeof itemType === 'string' && itemType !== ITEM_TYPES[result.modality]) {
    const message = `item_type ${show(itemType)} stored, the file is ${result.modality} (${ITEM_TYPES[result.modality]})`;
    const key = Object.hasOwn(record, 'item_type') ? 'item_type' : 'itemType';
    findings.push({ pointer: pointerJoin(pointer, key), url, code: 'field_differs', severity: 'error', message, field: 'item_type', spec: itemType, file: ITEM_TYPES[result.modality] });
  }
  for (const [name, read] of Object.entries(STORED_FIELDS)) {
    const stored = field(record, name);
    const actual = read(result);
    if (stored === undefined || stored === null || actual === undefined || sameFieldValue(name, stored, actual)) continue;
    const message = `${name} ${show(stored)} stored, ${show(actual)} in file`;
    const key = Object.hasOwn(record, name) ? name : snakeToCamel(name);
    findings.push({ pointer: pointerJoin(pointer, key), url, code: 'field_differs', severity: 'error', message, field: name, spec: stored, file: actual });
  }
  return findings;
}
