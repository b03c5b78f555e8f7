/** Upload specs: build them from media, verify them against media, retry failed uploads. */
export { buildSpec, SpecBuildError, type BuildEvent, type BuildOptions, type BuildSummary, type InputError, type OnError, type SpecInput } from './build.js';
export { compareDicomTags, compareMetadata, sameFieldValue, type Difference } from './compare.js';
export { readSpec, writeEntry, listKey, type LocatedEntry, type ReadSpec, type SpecProblem } from './forms.js';
export { inputsFromArguments, inputsFromManifest, type GroupBy, type InputMapping } from './inputs.js';
export { parseBaseUrl, pathForUrl, urlForPath, type BaseUrl } from './locations.js';
export { readJsonRecords, readManifest, type ManifestFormat, type ManifestRow } from './manifest.js';
export * from './model.js';
export { groupErrors, readUploadJob, RetryPlan, type ErrorGroup, type UnitError, type UploadJob } from './retry.js';
export { auditStorageItems, type AuditedItem, type StorageRecord } from './storage-items.js';
export { verifySpec, type VerifiedEntry, type VerifyFinding, type VerifyOptions } from './verify.js';
export { numbered, SpecWriter, type SpecWriterOptions, type WrittenSpec } from './writer.js';
