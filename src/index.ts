export {
  probe,
  probeAs,
  probeImage,
  probeVideo,
  probeAudio,
  probeText,
  probePdf,
  probeDicom,
  probeNifti,
  type ProbeResult,
  type ProbeInputOptions,
} from './probes/index.js';
export type {
  Detection,
  MetadataByModality,
  Modality,
  NiftiMetadata,
  ProbeOptions,
  ProbeWarning,
} from './probes/types.js';
export { detect } from './detect.js';
export * from './errors.js';
export * from './sources/index.js';
export * from './schema/index.js';
export * from './validate/index.js';
export * from './spec/index.js';
