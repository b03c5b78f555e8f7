export { BufferSource } from './buffer.js';
export { FileSource, type FileSourceOptions } from './file.js';
export { HttpSource, type HttpSourceOptions } from './http.js';
export { openSource, registerScheme, isByteSource, type MediaInput, type OpenOptions, type SchemeOpener } from './open.js';
export { BaseSource, readAll, extensionOf, type ByteSource, type SourceLimits } from './source.js';
export { StreamSource, type StreamSourceOptions } from './stream.js';
