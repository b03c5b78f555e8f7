/**
 * Every failure the library reports is an EncordMediaError with a stable `code`.
 * Callers switch on `code` (or `instanceof` a subclass); messages are for people.
 */
export const PROBE_ERROR_CODES = [
  'empty_file',
  'unsupported_format',
  'truncated',
  'corrupt_file',
  'encrypted',
  'not_text',
  'no_pages',
  'no_video_stream',
  'no_audio_stream',
  'unknown_frame_rate',
  'io_error',
  'timeout',
  'limit_exceeded',
  'tool_missing',
] as const;

export type ProbeErrorCode = (typeof PROBE_ERROR_CODES)[number];

export class EncordMediaError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A file that could not be described: its bytes, not the caller, are at fault. */
export class ProbeError extends EncordMediaError {
  declare readonly code: ProbeErrorCode;
  constructor(code: ProbeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Reading bytes failed (file system, network, stream); the media may be fine. */
export class SourceError extends ProbeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('io_error', message, options);
  }
}

/** A time, byte or pixel limit was hit. */
export class LimitError extends ProbeError {
  constructor(code: 'timeout' | 'limit_exceeded', message: string) {
    super(code, message);
  }
}

/** Bad arguments from the caller (CLI usage, options). */
export class UsageError extends EncordMediaError {
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * Normalises anything thrown into an EncordMediaError so that every input gets one typed
 * result: a library's own exception on bad bytes is reported as corrupt_file, never a crash.
 */
export function toEncordMediaError(error: unknown, inputName?: string): EncordMediaError {
  if (error instanceof EncordMediaError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ProbeError('corrupt_file', inputName ? `${inputName}: ${message}` : message, { cause: error });
}
