import { execFile, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { LimitError, ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import type { ProbeOptions } from './types.js';

/** The parts of `ffprobe -print_format json -show_format -show_streams` that the probes read. */
export interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  time_base?: string;
  duration?: string;
  nb_frames?: string;
  sample_rate?: string;
  channels?: number;
  sample_fmt?: string;
  bits_per_sample?: number;
  bits_per_raw_sample?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface FfprobeFormat {
  format_name?: string;
  duration?: string;
  size?: string;
  probe_score?: number;
  tags?: Record<string, string>;
}

export interface FfprobeResult {
  streams: FfprobeStream[];
  format: FfprobeFormat;
  /** `ffprobe -version` first line, for provenance. */
  version: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

let resolvedBinary: string | undefined;

/**
 * The ffprobe binary: env FFPROBE_PATH, then @ffprobe-installer/ffprobe (setting its run bit
 * when an install skipped the package's postinstall), then `ffprobe` on PATH.
 */
export function resolveFfprobe(): string {
  if (resolvedBinary) return resolvedBinary;
  const fromEnv = process.env.FFPROBE_PATH;
  if (fromEnv) return (resolvedBinary = fromEnv);
  const packaged = packagedFfprobe();
  return (resolvedBinary = packaged ?? 'ffprobe');
}

function packagedFfprobe(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const { path } = require('@ffprobe-installer/ffprobe') as { path: string };
    if (!statSync(path).isFile()) return undefined;
    try {
      accessSync(path, constants.X_OK);
    } catch {
      chmodSync(path, 0o755);
    }
    return path;
  } catch {
    return undefined;
  }
}

const versions = new Map<string, Promise<string>>();

export function ffprobeVersion(binary = resolveFfprobe()): Promise<string> {
  let version = versions.get(binary);
  if (!version) {
    version = new Promise((resolve) => {
      execFile(binary, ['-version'], { timeout: 10_000 }, (error, stdout) => {
        resolve(error ? 'unknown' : (stdout.split('\n')[0] ?? 'unknown').trim());
      });
    });
    versions.set(binary, version);
  }
  return version;
}

/**
 * Runs ffprobe on a source with JSON output. Local files are passed as `file:` URLs (so no name
 * can be read as an option or another protocol); other sources are piped on stdin.
 * Only the file and pipe protocols are allowed, so untrusted input cannot make ffprobe open
 * other files or the network (concat/HLS playlists).
 */
export async function runFfprobe(source: ByteSource, options: ProbeOptions = {}, extraArgs: string[] = []): Promise<FfprobeResult> {
  const binary = options.ffprobePath ?? resolveFfprobe();
  const input = source.path ? `file:${resolvePath(source.path)}` : 'pipe:0';
  const args = [
    '-v', 'error', '-hide_banner',
    '-protocol_whitelist', 'file,pipe',
    '-print_format', 'json', '-show_format', '-show_streams',
    ...extraArgs,
    '-i', input,
  ];
  const [stdout, version] = await Promise.all([
    runProcess(binary, args, source, options),
    ffprobeVersion(binary),
  ]);
  let parsed: { streams?: FfprobeStream[]; format?: FfprobeFormat };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new ProbeError('corrupt_file', `ffprobe printed no JSON for ${source.name}`);
  }
  return { streams: parsed.streams ?? [], format: parsed.format ?? {}, version };
}

function runProcess(binary: string, args: string[], source: ByteSource, options: ProbeOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: [source.path ? 'ignore' : 'pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failure: Error | undefined;
    const fail = (error: Error) => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new LimitError('timeout', `ffprobe took over ${timeoutMs} ms on ${source.name}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      outBytes += chunk.byteLength;
      if (outBytes > MAX_OUTPUT_BYTES) fail(new LimitError('limit_exceeded', `ffprobe output over ${MAX_OUTPUT_BYTES} bytes`));
      else out.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      fail(error.code === 'ENOENT'
        ? new ProbeError('tool_missing', `ffprobe not found (${binary}); set FFPROBE_PATH`)
        : new ProbeError('io_error', `ffprobe failed to start: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (code !== 0) {
        const message = err.trim().split('\n').pop() ?? `exit ${code}`;
        return reject(new ProbeError('corrupt_file', `ffprobe could not read ${source.name}: ${message}`));
      }
      resolve(Buffer.concat(out).toString('utf8'));
    });
    if (child.stdin) pipeSource(source, child.stdin).catch(fail);
  });
}

/** Feeds a source to ffprobe's stdin in order; ffprobe may stop reading early (EPIPE is fine). */
async function pipeSource(source: ByteSource, stdin: NodeJS.WritableStream): Promise<void> {
  const chunk = 256 * 1024;
  stdin.on('error', () => {});
  for (let offset = 0; ; offset += chunk) {
    const bytes = await source.read(offset, chunk);
    if (bytes.byteLength === 0) break;
    if (!stdin.write(bytes)) await new Promise((r) => stdin.once('drain', r));
    if (bytes.byteLength < chunk) break;
  }
  stdin.end();
}
