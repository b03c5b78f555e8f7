export * from './metadata.js';
export * from './data-upload.js';
export * from './upload-file.js';
export * from './storage.js';
export { REQUIRED_DICOM_TAGS, REQUIRED_DICOM_TAG_KEYS, DICOM_TAG_KEY_PATTERN, type RequiredDicomTag } from './dicom.js';
export { MAX_TITLE_LENGTH, MAX_URL_LENGTH, MIME_TYPE_PATTERN } from './fields.js';
export { camelToSnake, snakeToCamel } from './casing.js';
export { SCHEMA_NAMES, schemaByName, toJsonSchema } from './registry.js';
export {
  METADATA_SCHEMAS,
  canonicalMetadata,
  canonicalUploadFile,
  parseDataItems,
  toDataItemsWire,
  type CanonicalMetadata,
  type MetadataKind,
} from './canonical.js';
