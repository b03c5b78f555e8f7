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
