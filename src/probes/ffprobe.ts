import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, join, resolve as resolvePath } from 'node:path';
import { LimitError, ProbeError } from '../errors.js';
import type { ByteSource } from '../sources/source.js';
import { Limiter } from '../util/pool.js';
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
  /** With `-count_packets`. */
  nb_read_packets?: string;
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

/** With `-show_entries packet=...`. */
export interface FfprobePacket {
  stream_index?: number;
  pts?: number;
  dts?: number;
  duration?: number;
}

/** With `-show_frames -show_entries frame=...`: decoded frames (the audio probe counts samples). */
export interface FfprobeFrame {
  stream_index?: number;
  nb_samples?: number;
  channels?: number;
}

export interface FfprobeResult {
  streams: FfprobeStream[];
  format: FfprobeFormat;
  packets?: FfprobePacket[];
  frames?: FfprobeFrame[];
  /** `ffprobe -version` first line, for provenance. */
  version: string;
  /** What ffprobe logged at `-v error` (decoder complaints while reading the first frames), capped. */
  stderr?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_STDERR_CHARS = 16 * 1024;

/**
 * Demuxers ffprobe may pick for untrusted input: media containers and raw streams only. Playlists
 * and references to other resources (hls, dash, concat, imf, image2 patterns, sdp/rtp/rtsp),
 * devices, scripts (avisynth, vapoursynth) and lavfi stay out. Callers may pass another
 * `-format_whitelist` in extraArgs; the last one given wins.
 */
export const FORMAT_WHITELIST = [
  // video containers and elementary streams
  'mov', 'matroska', 'webm', 'avi', 'mpegts', 'mpegtsraw', 'mpeg', 'mpegvideo', 'm4v', 'h261', 'h263', 'h264', 'hevc', 'av1',
  'obu', 'ivf', 'vc1', 'vc1test', 'cavsvideo', 'dirac', 'dnxhd', 'mjpeg', 'mjpeg_2000', 'ogg', 'flv', 'live_flv', 'kux', 'asf',
  'asf_o', 'mxf', 'gxf', 'rm', 'nut', 'nuv', 'wtv', 'dv', 'yuv4mpegpipe', 'smjpeg', 'swf', 'thp', 'bink', 'smk', 'roq', 'nsv',
  'vivo', 'r3d', 'mxg', 'lxf', 'pva', 'ty', 'mtv', 'flic', 'film_cpk', 'avs', 'vmd', 'xmv', 'cine', 'dhav', 'ipmovie', 'rl2',
  'str', 'psxstr', 'wsvqa', 'mvi', 'mv', 'vividas',
  // audio containers and elementary streams
  'mp3', 'aac', 'ac3', 'eac3', 'dts', 'dtshd', 'truehd', 'mlp', 'flac', 'wav', 'w64', 'aiff', 'caf', 'au', 'amr', 'amrnb',
  'amrwb', 'ape', 'wv', 'tta', 'tak', 'shn', 'dsf', 'iff', 'mpc', 'mpc8', 'oma', 'qcp', 'voc', 'xwma', 'loas', 'spdif', 'g722',
  'g723_1', 'g726', 'g726le', 'g729', 'gsm', 'ilbc', 'sbc', 'codec2', 'ircam', 'sox', 'nistsphere', 'aa', 'aax', 'xa', 'ast',
  'brstm', 'bfstm', 'vag', 'adx', 'hca', 'msf', 'wsaud', 'rso', 'sol', 'smush', 'mmf', 'epaf', 'pvf', 'vqf', 'mca', 'musx',
  'aptx', 'aptx_hd', 'dfpwm', 'kvag', 'act', 'mtaf', 'paf', 'svag', 'xvag', 'wve', 'daud', 'bit', 'dss', 'dsicin', 'tmv',
].join(',');

let resolvedBinary: string | undefined;

/**
 * The ffprobe binary: env FFPROBE_PATH, then `ffprobe` on PATH (a system FFmpeg, the version the
 * corpus ground truth comes from), then @ffprobe-installer/ffprobe (setting its run bit when an
 * install skipped the package's postinstall).
 */
export function resolveFfprobe(): string {
  if (resolvedBinary) return resolvedBinary;
  const fromEnv = process.env.FFPROBE_PATH;
  if (fromEnv) return (resolvedBinary = fromEnv);
  return (resolvedBinary = onPath('ffprobe') ?? packagedFfprobe() ?? 'ffprobe');
}

/** Binaries to try after one crashes (the packaged static build segfaults on some inputs). */
function alternativeBinaries(failed: string): string[] {
  return [onPath('ffprobe'), packagedFfprobe()].filter((binary): binary is string => binary !== undefined && binary !== failed);
}

function onPath(name: string): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (!directory) continue;
    const candidate = join(directory, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
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
 * can be read as an option or another protocol) with only the file protocol allowed; other
 * sources are served to ffprobe from a one-off HTTP server on 127.0.0.1 that answers Range
 * requests from the ByteSource (so ffprobe can seek, e.g. to a moov at the end, without the whole
 * file being fetched), with only http/tcp allowed. Demuxers are limited to FORMAT_WHITELIST, so
 * untrusted input cannot make ffprobe open playlists, other files or other hosts.
 */
export async function runFfprobe(source: ByteSource, options: ProbeOptions = {}, extraArgs: string[] = []): Promise<FfprobeResult> {
  let binary = options.ffprobePath ?? resolveFfprobe();
  const proxy = source.path ? undefined : await serveSource(source);
  try {
    const input = proxy ? proxy.url : `file:${resolvePath(source.path!)}`;
    const args = [
      '-v', 'error', '-hide_banner',
      '-protocol_whitelist', proxy ? 'http,tcp' : 'file',
      '-format_whitelist', FORMAT_WHITELIST,
      '-print_format', 'json', '-show_program_version', '-show_format', '-show_streams',
      ...extraArgs,
      '-i', input,
    ];
    let output: ProcessOutput;
    try {
      output = await runProcess(binary, args, source, options);
    } catch (error) {
      const fallback = error instanceof CrashError && !options.ffprobePath ? alternativeBinaries(binary)[0] : undefined;
      if (!fallback) throw error instanceof CrashError ? new ProbeError('io_error', error.message) : error;
      binary = fallback;
      output = await runProcess(binary, args, source, options);
    }
    return { ...parseOutput(output.stdout, source.name, binary), stderr: output.stderr };
  } finally {
    await proxy?.close();
  }
}

interface ProgramVersion {
  version?: string;
  copyright?: string;
}

function parseOutput(stdout: string, name: string, binary: string): FfprobeResult {
  let parsed: {
    streams?: FfprobeStream[];
    format?: FfprobeFormat;
    packets?: FfprobePacket[];
    frames?: FfprobeFrame[];
    program_version?: ProgramVersion;
  };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new ProbeError('corrupt_file', `ffprobe printed no JSON for ${name}`);
  }
  return {
    streams: parsed.streams ?? [],
    format: parsed.format ?? {},
    packets: parsed.packets,
    frames: parsed.frames,
    version: versionLine(parsed.program_version, binary),
  };
}

/** The `ffprobe -version` first line, rebuilt from -show_program_version (saves a process per binary). */
function versionLine(program: ProgramVersion | undefined, binary: string): string {
  if (!program?.version) return 'unknown';
  const line = `ffprobe version ${program.version.trim()} ${program.copyright ?? ''}`.trim();
  if (!versions.has(binary)) versions.set(binary, Promise.resolve(line));
  return line;
}

/** ffprobe died of a signal: a bug of that build, not a verdict on the file. */
class CrashError extends Error {}

interface ProcessOutput {
  stdout: string;
  stderr: string;
}

/**
 * ffprobe processes running at once, whatever the number of inputs in flight: each is CPU-bound
 * (its start alone is ~70 ms of dynamic linking) and holds ~50 MB, so more than one per core
 * only queues in the kernel and grows memory. Waiting for a slot does not count towards
 * ffprobe's own time limit, which starts with the process; the probe's overall limit includes it.
 */
const processSlots = new Limiter(availableParallelism());

function runProcess(binary: string, args: string[], source: ByteSource, options: ProbeOptions): Promise<ProcessOutput> {
  return processSlots.run(async () => {
    // A probe cancelled or timed out while it waited starts no process.
    if (options.signal?.aborted) throw new ProbeError('io_error', `ffprobe was not started on ${source.name}: the probe was cancelled`);
    return runOneProcess(binary, args, source, options);
  });
}

function runOneProcess(binary: string, args: string[], source: ByteSource, options: ProbeOptions): Promise<ProcessOutput> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
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
      if (err.length < MAX_STDERR_CHARS) err += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') return fail(new ProbeError('io_error', `ffprobe was stopped on ${source.name}: the probe was cancelled`));
      fail(error.code === 'ENOENT'
        ? new ProbeError('tool_missing', `ffprobe not found (${binary}); set FFPROBE_PATH`)
        : new ProbeError('io_error', `ffprobe failed to start: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure);
      if (signal) return reject(new CrashError(`${binary} crashed (${signal}) on ${source.name}`));
      if (code !== 0) {
        const message = err.trim().split('\n').pop() ?? `exit ${code}`;
        return reject(new ProbeError('corrupt_file', `ffprobe could not read ${source.name}: ${message}`));
      }
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: err });
    });
  });
}

interface SourceServer {
  url: string;
  close(): Promise<void>;
}

const SERVE_CHUNK = 256 * 1024;

/**
 * Serves one ByteSource at a random path on 127.0.0.1 with HTTP Range support; any other path or
 * method gets 404/405, so the server exposes nothing but these bytes, to this process's ffprobe.
 */
async function serveSource(source: ByteSource): Promise<SourceServer> {
  const total = await source.size();
  const path = `/${randomBytes(16).toString('hex')}`;
  const server = createServer((request, response) => {
    answerRange(source, total, path, request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answerRange(source: ByteSource, total: number, path: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.url !== path) return void response.writeHead(404).end();
  if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405).end();
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), total - 1) : total - 1;
  if (range && start >= total) {
    return void response.writeHead(416, { 'Content-Range': `bytes */${total}` }).end();
  }
  const headers = { 'Accept-Ranges': 'bytes', 'Content-Length': String(end - start + 1), 'Content-Type': 'application/octet-stream' };
  response.writeHead(range ? 206 : 200, range ? { ...headers, 'Content-Range': `bytes ${start}-${end}/${total}` } : headers);
  if (request.method === 'HEAD') return void response.end();
  for (let offset = start; offset <= end && !response.destroyed; ) {
    const bytes = await source.read(offset, Math.min(SERVE_CHUNK, end - offset + 1));
    if (bytes.byteLength === 0) break;
    offset += bytes.byteLength;
    if (!response.write(bytes)) await new Promise((resolve) => response.once('drain', resolve).once('close', resolve));
  }
  response.end();
}
