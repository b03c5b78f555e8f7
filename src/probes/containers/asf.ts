/**
 * ASF (WMV/WMA) read as FFmpeg's asf demuxer (libavformat/asfdec_f.c) reads it: the header
 * objects walked in file order up to the Data object, then the fixed-size data packets, their
 * payloads reassembled into the media objects the demuxer returns as packets.
 *
 * The walk is strict: any packet or payload the demuxer would have to resynchronise on, drop or
 * merge (bad lengths, fragments out of order, objects left incomplete, unknown streams) means the
 * file is not modelled, and the caller hands it to ffprobe (NeedsFfprobe).
 */
import { ProbeError } from '../../errors.js';
import type { ByteSource } from '../../sources/source.js';
import { NeedsFfprobe, type VideoFacts } from './facts.js';
import { timestampsVary } from './frame-rate-mode.js';
import { FrameRateGuess } from './frame-rate-guess.js';

const GUID = {
  header: '3026b2758e66cf11a6d900aa0062ce6c',
  data: '3626b2758e66cf11a6d900aa0062ce6c',
  fileProperties: 'a1dcab8c47a9cf118ee400c00c205365',
  streamProperties: '9107dcb7b7a9cf118ee600c00c205365',
  headerExtension: 'b503bf5f2ea9cf118ee300c00c205365',
  extendedStreamProperties: 'cba5e61472c632438399a96952065b5a',
  extendedContentDescription: '40a4d0d207e3d21197f000a0c95ea850',
  metadata: 'eacbf8c5af5b77488467aa8c44fa4cca',
  metadataLibrary: '941c23449894d149a1411d134e457054',
  contentEncryption: 'fbb3112223bdd211b4b700a0c955fc6e',
  extendedContentEncryption: '14e68a292226174cb935dae07ee9289c',
  audioMedia: '409e69f84d5bcf11a8fd00805f5c442b',
  videoMedia: 'c0ef19bc4d5bcf11a8fd00805f5c442b',
  commandMedia: 'c0cfda59e659d011a3ac00a0c90348f6',
} as const;

/** Objects FFmpeg does not know are skipped by their size; these change what it reads. */
const UNMODELLED_OBJECTS = new Map<string, string>([
  [GUID.contentEncryption, 'DRM content encryption'],
  [GUID.extendedContentEncryption, 'DRM extended content encryption'],
]);

/** Payload extension systems whose data FFmpeg reads into the packets (0x54 aspect ratio, 0x2A timestamps). */
const READ_PAYLOAD_EXTENSIONS = new Set([0x54, 0x2a]);

const OBJECT_HEADER = 24;
/** Header object: GUID, size, object count (4), two reserved bytes. */
const HEADER_OBJECT_FIELDS = 30;
/** Data object: GUID, size, file id (16), packet count (8), reserved (2). */
const DATA_OBJECT_FIELDS = 50;
/** The most header bytes read before the Data object (cover art can make headers large). */
const MAX_HEADER_BYTES = 16 << 20;
/** FFmpeg skips what is left of a packet once fewer bytes than a payload header remain. */
const FRAME_HEADER_SIZE = 6;

export const isAsf = (head: Uint8Array) => head.byteLength >= 16 && hex(head, 0, 16) === GUID.header;

export interface AsfWaveFormat {
  formatTag: number;
  channels: number;
  sampleRate: number;
  bytesPerSecond: number;
  blockAlign: number;
  bitsPerSample: number;
  extradata: Uint8Array;
}

export interface AsfStream {
  /** ASF stream number (1-127). */
  number: number;
  type: 'audio' | 'video' | 'data';
  /** Audio: the WAVEFORMATEX. */
  wave?: AsfWaveFormat;
  /** Audio: the demuxer descrambles (un-spreads) each packet in chunks (asf_st->ds_span > 1). */
  descrambled?: boolean;
  /** Video: BITMAPINFOHEADER fields. */
  width?: number;
  height?: number;
  fourcc?: string;
  /** Payload extension system types declared for the stream (first GUID byte, as FFmpeg keys them). */
  payloadExtensions: number[];
  /** AspectRatioX/Y from the Metadata objects, for this stream. */
  aspect?: { num: number; den: number };
}

export interface AsfFile {
  /** File Properties. */
  declaredFileSize: number;
  playTime: bigint;
  preroll: number;
  broadcast: boolean;
  packetSize: number;
  streams: AsfStream[];
  /** Cover art that FFmpeg adds as an attached-picture stream. */
  pictures: boolean;
  /** Container-wide AspectRatioX/Y (Extended Content Description). */
  aspect?: { num: number; den: number };
  /** Offset of the first data packet and the end of the Data object. */
  packetsStart: number;
  dataEnd: number;
  /** Packet counts of the Data object and of File Properties. */
  declaredPackets: number;
  propertiesPackets: number;
}

/** What the file's length is checked against. */
type AsfSizes = Pick<AsfFile, 'declaredFileSize' | 'dataEnd'>;

/** One media object as the demuxer returns it (an AVPacket). */
export interface AsfObject {
  stream: AsfStream;
  /** Send/presentation time in ms, as stored (before the preroll is subtracted). */
  timestamp: number;
  size: number;
  /** The object's bytes, only for streams the caller asked to keep. */
  data?: Uint8Array;
  /** Its media object number does not follow the previous one's: objects were lost before it. */
  afterGap: boolean;
}

/**
 * Reads the header objects up to the Data object. The file size is only asked for after the
 * packets are walked (checkAsfSize), so that a forward-only stream is read once, in order.
 */
export async function parseAsf(source: ByteSource): Promise<AsfFile> {
  const first = await source.read(0, HEADER_OBJECT_FIELDS);
  if (first.byteLength < HEADER_OBJECT_FIELDS || hex(first, 0, 16) !== GUID.header) {
    throw new ProbeError('corrupt_file', `${source.name}: not an ASF header`);
  }
  const headerSize = u64(first, 16);
  // FFmpeg reads objects until the Data object whatever the header object's size says: read on
  // (up to a limit) while the objects run past the bytes read.
  for (let wanted = headerSize + DATA_OBJECT_FIELDS; wanted <= MAX_HEADER_BYTES; wanted *= 4) {
    const bytes = await source.read(0, wanted);
    try {
      return readHeaderObjects(new Le(bytes, HEADER_OBJECT_FIELDS), bytes.byteLength < wanted, source.name);
    } catch (error) {
      // FFmpeg reads the packets of an unsized Data object to the end of the file; a file shorter
      // than File Properties declare is cut, whatever it finds there (the size is only valid
      // when the broadcast flag is clear).
      if (error instanceof UnsizedData && !error.file.broadcast) await checkAsfSize(source, error.file);
      if (!(error instanceof ObjectsRunOn)) throw error;
    }
  }
  throw new NeedsFfprobe(`ASF header objects past ${MAX_HEADER_BYTES} bytes`);
}

/** The objects before the Data object run past the bytes read (not past the file). */
class ObjectsRunOn extends Error {}

/** The Data object gives no size FFmpeg trusts (broadcast flag set, or under 100 bytes). */
class UnsizedData extends NeedsFfprobe {
  constructor(readonly file: AsfSizes & { broadcast: boolean }) {
    super('ASF broadcast file (no data size)');
  }
}

/** `ended`: the file ends before the header object and the Data object header do. */
function readHeaderObjects(reader: Le, ended: boolean, name: string): AsfFile {
  const state: HeaderState = { streams: [], payloadExtensions: new Map(), aspects: new Map() };
  for (;;) {
    if (reader.remaining < OBJECT_HEADER) {
      // FFmpeg walks objects until the Data object; running off the file is its "End of file".
      if (ended) throw new ProbeError('corrupt_file', `${name}: the ASF header ends before the Data object`);
      throw new ObjectsRunOn();
    }
    const start = reader.position;
    const guid = reader.guid();
    const size = reader.u64();
    if (guid === GUID.data) return finishHeader(state, reader, start, size, name);
    if (size < OBJECT_HEADER) throw new ProbeError('corrupt_file', `${name}: ASF object of ${size} bytes`);
    if (start + size > reader.bytes.byteLength) {
      if (ended) throw new ProbeError('truncated', `${name}: an ASF header object runs to byte ${start + size}, past the end of the file`);
      throw new ObjectsRunOn();
    }
    const unmodelled = UNMODELLED_OBJECTS.get(guid);
    if (unmodelled) throw new NeedsFfprobe(`ASF ${unmodelled}`);
    if (guid === GUID.headerExtension) {
      // FFmpeg reads the objects inside the Header Extension as if they followed it.
      reader.skip(22);
      continue;
    }
    if (guid === GUID.extendedStreamProperties) {
      // ... and reads on after this object's fields: an embedded Stream Properties object follows.
      const fields = reader.sub(start + size);
      readExtendedStreamProperties(fields, state);
      reader.position = fields.position;
      continue;
    }
    const body = reader.sub(start + size);
    if (guid === GUID.fileProperties) state.file = readFileProperties(body);
    else if (guid === GUID.streamProperties) state.streams.push(readStreamProperties(body));
    else if (guid === GUID.extendedContentDescription) readExtendedContent(body, state);
    else if (guid === GUID.metadata || guid === GUID.metadataLibrary) readMetadata(body, state);
    reader.position = start + size;
  }
}

interface HeaderState {
  file?: FileProperties;
  /** Cover art (WM/Picture, ID3 APIC) that FFmpeg turns into an attached-picture stream. */
  pictures?: boolean;
  streams: AsfStream[];
  payloadExtensions: Map<number, number[]>;
  /** Key 0: the container's AspectRatioX/Y; else per stream number. */
  aspects: Map<number, { num?: number; den?: number }>;
}

interface FileProperties {
  declaredFileSize: number;
  declaredPackets: number;
  playTime: bigint;
  preroll: number;
  broadcast: boolean;
  minPacket: number;
  maxPacket: number;
}

function readFileProperties(reader: Le): FileProperties {
  reader.skip(16);
  const declaredFileSize = reader.u64();
  reader.skip(8);
  const declaredPackets = reader.u64();
  const playTime = reader.u64big();
  reader.skip(8);
  const preroll = reader.u32();
  reader.skip(4);
  const flags = reader.u32();
  const minPacket = reader.u32();
  const maxPacket = reader.u32();
  return { declaredFileSize, declaredPackets, playTime, preroll, broadcast: (flags & 1) !== 0, minPacket, maxPacket };
}

function readStreamProperties(reader: Le): AsfStream {
  const media = reader.guid();
  reader.skip(16 + 8);
  const typeSpecificSize = reader.u32();
  reader.skip(4);
  const number = reader.u16() & 0x7f;
  reader.skip(4);
  const stream: AsfStream = { number, type: 'data', payloadExtensions: [] };
  if (media === GUID.audioMedia) {
    stream.type = 'audio';
    const errorCorrection = reader.position + typeSpecificSize;
    stream.wave = readWaveFormat(reader.sub(errorCorrection));
    stream.descrambled = readsDescrambled(reader, errorCorrection);
  } else if (media === GUID.videoMedia) {
    stream.type = 'video';
    if (reader.remaining < 51) throw new NeedsFfprobe('ASF video stream without a bitmap header');
    reader.skip(4 + 4 + 1 + 2 + 4);
    stream.width = reader.i32();
    stream.height = reader.i32();
    reader.skip(2 + 2);
    stream.fourcc = reader.fourcc();
  } else if (media !== GUID.commandMedia) {
    throw new NeedsFfprobe(`ASF stream of media type ${media}`);
  }
  return stream;
}

/**
 * The audio spread fields after the type-specific data (read when 8 bytes are left in the
 * object), and asf_read_stream_properties' test whether they make the demuxer descramble.
 */
function readsDescrambled(reader: Le, at: number): boolean {
  if (reader.bytes.byteLength - at < 8) return false;
  const fields = new Le(reader.bytes, at);
  const span = fields.u8();
  const packetSize = fields.u16();
  const chunkSize = fields.u16();
  return span > 1 && chunkSize > 0 && Math.floor(packetSize / chunkSize) > 1 && packetSize % chunkSize === 0;
}

/** WAVEFORMATEX, as ff_get_wav_header reads it (the extension only when cbSize says so). */
function readWaveFormat(reader: Le): AsfWaveFormat {
  if (reader.remaining < 14) throw new NeedsFfprobe('ASF audio stream with a short WAVEFORMAT');
  const formatTag = reader.u16();
  const channels = reader.u16();
  const sampleRate = reader.u32();
  const bytesPerSecond = reader.u32();
  const blockAlign = reader.u16();
  const bitsPerSample = reader.remaining >= 2 ? reader.u16() : 8;
  if (formatTag === 0xfffe) throw new NeedsFfprobe('ASF audio in WAVEFORMATEXTENSIBLE');
  let extradata: Uint8Array = new Uint8Array(0);
  if (reader.remaining >= 2) {
    const extraSize = reader.u16();
    extradata = reader.slice(Math.min(extraSize, reader.remaining));
  }
  return { formatTag, channels, sampleRate, bytesPerSecond, blockAlign, bitsPerSample, extradata };
}

function readExtendedStreamProperties(reader: Le, state: HeaderState): void {
  reader.skip(8 + 8 + 4 * 8);
  const number = reader.u16();
  reader.skip(2 + 8);
  const names = reader.u16();
  const extensions = reader.u16();
  for (let i = 0; i < names; i++) {
    reader.skip(2);
    reader.skip(reader.u16());
  }
  const types: number[] = [];
  for (let i = 0; i < extensions; i++) {
    const type = reader.u8();
    reader.skip(15 + 2);
    reader.skip(reader.u32());
    if (i < 8) types.push(type);
  }
  if (number < 128) state.payloadExtensions.set(number, types);
}

/** Extended Content Description: only AspectRatioX/Y matter (the container-wide aspect ratio). */
function readExtendedContent(reader: Le, state: HeaderState): void {
  const count = reader.u16();
  for (let i = 0; i < count; i++) {
    let nameLength = reader.u16();
    if (nameLength % 2) nameLength += 1;
    const name = utf16(reader.slice(nameLength));
    const type = reader.u16();
    let valueLength = reader.u16();
    if (type === 0 && valueLength % 2) valueLength += 1;
    if (name === 'AspectRatioX' || name === 'AspectRatioY') {
      setAspect(state, 0, name, readValue(reader, type, 32));
      continue;
    }
    if (type === 1 && (name === 'WM/Picture' || name === 'ID3')) state.pictures = true;
    reader.skip(valueLength);
  }
}

function readMetadata(reader: Le, state: HeaderState): void {
  const count = reader.u16();
  for (let i = 0; i < count; i++) {
    reader.skip(2);
    const stream = reader.u16();
    const nameLength = reader.u16();
    const type = reader.u16();
    const valueLength = reader.u32();
    if (valueLength > 0xffff) throw new NeedsFfprobe('ASF metadata value too long');
    const name = utf16(reader.slice(nameLength));
    if ((name === 'AspectRatioX' || name === 'AspectRatioY') && stream < 128) {
      setAspect(state, stream, name, readValue(reader, type, 16));
      continue;
    }
    if (type === 1 && (name === 'WM/Picture' || name === 'ID3')) state.pictures = true;
    reader.skip(valueLength);
  }
}

/** get_value(): BOOL is 32 bits in the Extended Content Description, 16 in Metadata objects. */
function readValue(reader: Le, type: number, boolBits: 16 | 32): number {
  switch (type) {
    case 2:
      return boolBits === 32 ? reader.i32() : reader.u16();
    case 3:
      return reader.i32();
    case 4:
      return Number(BigInt.asIntN(32, reader.u64big()));
    case 5:
      return reader.u16();
    default:
      throw new NeedsFfprobe(`ASF aspect ratio stored as type ${type}`);
  }
}

function setAspect(state: HeaderState, key: number, name: string, value: number): void {
  const aspect = state.aspects.get(key) ?? {};
  if (name === 'AspectRatioX') aspect.num = value;
  else aspect.den = value;
  state.aspects.set(key, aspect);
}

function finishHeader(state: HeaderState, reader: Le, start: number, size: number, name: string): AsfFile {
  const { file } = state;
  if (!file) throw new NeedsFfprobe('ASF without File Properties');
  if (reader.remaining < DATA_OBJECT_FIELDS - OBJECT_HEADER) throw new ProbeError('truncated', `${name}: the file ends in the ASF Data object header`);
  reader.skip(16);
  const declaredPackets = reader.u64();
  if (file.broadcast || size < 100) throw new UnsizedData({ ...file, dataEnd: start + size });
  if (file.minPacket !== file.maxPacket || file.maxPacket === 0 || file.maxPacket >= 1 << 29) {
    throw new NeedsFfprobe(`ASF packets of ${file.minPacket}-${file.maxPacket} bytes`);
  }
  const numbers = new Set(state.streams.map((stream) => stream.number));
  if (numbers.size !== state.streams.length) throw new NeedsFfprobe('ASF stream numbers repeat');
  for (const stream of state.streams) {
    stream.payloadExtensions = state.payloadExtensions.get(stream.number) ?? [];
    stream.aspect = validAspect(state.aspects.get(stream.number));
  }
  return {
    declaredFileSize: file.declaredFileSize,
    playTime: file.playTime,
    preroll: file.preroll,
    broadcast: file.broadcast,
    packetSize: file.maxPacket,
    streams: state.streams,
    pictures: state.pictures ?? false,
    aspect: validAspect(state.aspects.get(0)),
    packetsStart: start + DATA_OBJECT_FIELDS,
    dataEnd: start + size,
    declaredPackets,
    propertiesPackets: file.declaredPackets,
  };
}

function validAspect(aspect: { num?: number; den?: number } | undefined): { num: number; den: number } | undefined {
  return aspect && aspect.num! > 0 && aspect.den! > 0 ? { num: aspect.num!, den: aspect.den! } : undefined;
}

/**
 * SPEC truncation: the File Properties size, the Data object and its packet count must fit the
 * file. A file that is larger than it declares by 5% or more is not modelled (FFmpeg then
 * estimates durations from the bit rate). Call after the walk, or when handing the file over: it
 * asks for the file size, which drains a forward-only stream.
 */
export async function checkAsfSize(source: ByteSource, file: AsfSizes): Promise<void> {
  const fileSize = await source.size();
  const name = source.name;
  if (file.dataEnd > fileSize) {
    throw new ProbeError('truncated', `${name}: the ASF Data object runs to byte ${file.dataEnd}, the file holds ${fileSize}`);
  }
  if (file.declaredFileSize > fileSize) {
    throw new ProbeError('truncated', `${name}: ASF File Properties declare ${file.declaredFileSize} bytes, the file holds ${fileSize}`);
  }
  if (!statesDurations(file.declaredFileSize, fileSize)) throw new NeedsFfprobe(`ASF declares ${file.declaredFileSize} bytes, the file holds ${fileSize}: FFmpeg estimates durations`);
}

/** Packet counts and the Data object size must agree before the packets are walked. */
function checkPacketCount(file: AsfFile): void {
  const packetBytes = file.declaredPackets * file.packetSize;
  if (file.declaredPackets !== file.propertiesPackets) throw new NeedsFfprobe('ASF packet counts disagree');
  if (file.packetsStart + packetBytes !== file.dataEnd) throw new NeedsFfprobe('ASF Data object size and packet count disagree');
}

/** FFmpeg takes the stream durations from File Properties only when the sizes agree within 5%. */
function statesDurations(declaredFileSize: number, fileSize: number): boolean {
  return declaredFileSize > 0 && Math.abs(fileSize - declaredFileSize) < Math.floor(Math.min(fileSize, declaredFileSize) / 20);
}

/** Streams are told apart by their number in the payloads. */
interface Pending {
  size: number;
  sequence: number;
  timestamp: number;
  received: number;
  data?: Uint8Array;
}

/**
 * Walks every data packet in order and returns the media objects as the demuxer completes them.
 * `keep` names the streams whose object bytes the caller needs.
 */
export async function walkAsfObjects(source: ByteSource, file: AsfFile, keep: ReadonlySet<number>, onObject: (object: AsfObject) => void): Promise<void> {
  checkPacketCount(file);
  const byNumber = new Map(file.streams.map((stream) => [stream.number, stream]));
  const pending = new Map<number, Pending>();
  const context: PacketContext = { file, byNumber, pending, keep, onObject, ecc: undefined, sequences: new Map() };
  const chunkPackets = Math.max(1, Math.floor((1 << 20) / file.packetSize));
  for (let offset = file.packetsStart; offset < file.dataEnd; ) {
    const length = Math.min(chunkPackets * file.packetSize, file.dataEnd - offset);
    const bytes = await source.read(offset, length);
    if (bytes.byteLength < length) throw new ProbeError('truncated', `${source.name}: the ASF data ends at byte ${offset + bytes.byteLength}`);
    for (let at = 0; at < length; at += file.packetSize) {
      if (length - at < file.packetSize) throw new NeedsFfprobe('ASF data ends inside a packet');
      readPacket(new Le(bytes.subarray(at, at + file.packetSize), 0), context);
    }
    offset += length;
  }
  if ([...pending.values()].length > 0) throw new NeedsFfprobe('ASF media object left incomplete at the end of the data');
  await checkAsfSize(source, file);
}

interface PacketContext {
  file: AsfFile;
  byNumber: Map<number, AsfStream>;
  pending: Map<number, Pending>;
  keep: ReadonlySet<number>;
  onObject: (object: AsfObject) => void;
  /** Whether packets carry the standard 82 00 00 error correction data (fixed by the first packet). */
  ecc: boolean | undefined;
  /** The last media object number seen per stream. */
  sequences: Map<number, number>;
}

/** A compressed payload (replicated data size 1): several whole objects, one time delta apart. */
interface PayloadGroup {
  stream: AsfStream;
  sequence: number;
  time: number;
  delta: number;
  bytesLeft: number;
}

/**
 * asf_get_packet + asf_parse_packet for one whole packet, in FFmpeg's order: payloads (and the
 * objects of a compressed payload) until fewer bytes than a payload header are left.
 */
function readPacket(packet: Le, context: PacketContext): void {
  const header = readPacketHeader(packet, context);
  let left = header.sizeLeft;
  let segments = header.segments;
  let group: PayloadGroup | undefined;
  while (left >= FRAME_HEADER_SIZE && (segments > 0 || group)) {
    if (!group) {
      segments--;
      const payload = readPayloadHeader(packet, header, left, context);
      left -= payload.headerBytes;
      if (payload.fragment) {
        left -= payload.fragment.fragment.byteLength;
        addFragment(payload.stream, payload.fragment, context);
        continue;
      }
      group = payload.group;
    }
    const size = packet.u8();
    left--;
    group.bytesLeft--;
    if (group.bytesLeft < size) {
      // FFmpeg reads one byte past the group, finds it too big, steps back and reads a payload header.
      if (group.bytesLeft !== -1) throw new NeedsFfprobe('ASF compressed payload sizes disagree');
      packet.position--;
      left++;
      group = undefined;
      continue;
    }
    if (size === 0) throw new NeedsFfprobe('ASF empty object in a compressed payload');
    group.bytesLeft -= size;
    left -= size;
    const fragment = { sequence: group.sequence, offset: 0, objectSize: size, timestamp: group.time, fragment: packet.slice(size) };
    // The objects of a compressed payload number on from the payload's media object number.
    group.sequence++;
    group.time += group.delta;
    addFragment(group.stream, fragment, context);
  }
}

interface PacketHeader {
  multiple: boolean;
  lengthTypes: number;
  property: number;
  timestamp: number;
  segments: number;
  padding: number;
  sizeLeft: number;
}

function readPacketHeader(packet: Le, context: PacketContext): PacketHeader {
  const first = packet.u8();
  let rsize = 8;
  if (first & 0x80) {
    if (first !== 0x82 || packet.u8() !== 0 || packet.u8() !== 0) throw new NeedsFfprobe('ASF packet with non-standard error correction');
    if (context.ecc === false) throw new NeedsFfprobe('ASF error correction on some packets only');
    context.ecc = true;
    rsize += 3;
  } else {
    if (context.ecc === true) throw new NeedsFfprobe('ASF packet without the error correction the first had');
    context.ecc = false;
    packet.position = 0;
  }
  const flags = packet.u8();
  const property = packet.u8();
  const size = context.file.packetSize;
  const [length, lengthBytes] = packet.sized(flags >> 5, size);
  const [, sequenceBytes] = packet.sized(flags >> 1, 0);
  const [padding, paddingBytes] = packet.sized(flags >> 3, 0);
  rsize += lengthBytes + sequenceBytes + paddingBytes;
  if (length !== size) throw new NeedsFfprobe(`ASF packet of ${length} bytes in a file of ${size}-byte packets`);
  if (padding >= length) throw new NeedsFfprobe('ASF packet padding exceeds the packet');
  const timestamp = packet.u32();
  packet.skip(2);
  const multiple = (flags & 1) !== 0;
  let segments = 1;
  let lengthTypes = 0x80;
  if (multiple) {
    lengthTypes = packet.u8();
    segments = lengthTypes & 0x3f;
    rsize++;
  }
  if (rsize > length - padding) throw new NeedsFfprobe('ASF packet header longer than the packet');
  return { multiple, lengthTypes, property, timestamp, segments, padding, sizeLeft: length - padding - rsize };
}

/** A plain payload (one fragment of one object) or a compressed one (objects follow, each after its size byte). */
type PayloadHeader = {
  stream: AsfStream;
  headerBytes: number;
} & ({ fragment: Fragment; group?: never } | { group: PayloadGroup; fragment?: never });

/** asf_read_frame_header: the payload's stream, object and fragment fields. */
function readPayloadHeader(packet: Le, header: PacketHeader, sizeLeft: number, context: PacketContext): PayloadHeader {
  const start = packet.position;
  const id = packet.u8();
  const [sequence] = packet.sized(header.property >> 4, 0);
  const [offsetField] = packet.sized(header.property >> 2, 0);
  const [replicated] = packet.sized(header.property, 0);
  if (packet.position - start + replicated > sizeLeft) throw new NeedsFfprobe('ASF replicated data longer than the packet');
  let objectSize = 0;
  let timestamp = 0;
  let delta = 0;
  if (replicated >= 8) {
    objectSize = packet.u32();
    if (objectSize >= 1 << 24) throw new NeedsFfprobe(`ASF media object of ${objectSize} bytes`);
    timestamp = packet.u32();
    packet.skip(replicated - 8);
  } else if (replicated === 1) {
    // The offset field holds the presentation time; FFmpeg mistakes a time of 0 for "no group".
    if (offsetField === 0) throw new NeedsFfprobe('ASF compressed payload at time 0');
    delta = packet.u8();
  } else {
    throw new NeedsFfprobe(`ASF replicated data of ${replicated} bytes`);
  }
  const fragmentSize = readFragmentSize(packet, header, sizeLeft - (packet.position - start));
  const headerBytes = packet.position - start;
  const stream = context.byNumber.get(id & 0x7f);
  if (!stream) throw new NeedsFfprobe(`ASF payload for undeclared stream ${id & 0x7f}`);
  if (stream.payloadExtensions.some((type) => READ_PAYLOAD_EXTENSIONS.has(type))) {
    throw new NeedsFfprobe('ASF payload extensions FFmpeg reads (aspect ratio, timestamps)');
  }
  if (replicated === 1) {
    return { stream, headerBytes, group: { stream, sequence, time: offsetField, delta, bytesLeft: fragmentSize } };
  }
  return { stream, headerBytes, fragment: { sequence, offset: offsetField, objectSize, timestamp, fragment: packet.slice(fragmentSize) } };
}

/** The payload's length: its own field with several payloads per packet, else the rest of the packet. */
function readFragmentSize(packet: Le, header: PacketHeader, left: number): number {
  if (!header.multiple) return left;
  const before = packet.position;
  const [size] = packet.sized(header.lengthTypes >> 6, 0);
  const rest = left - (packet.position - before);
  if (rest < 0 || size > rest) throw new NeedsFfprobe('ASF payload longer than its packet');
  return size;
}

interface Fragment {
  sequence: number;
  offset: number;
  objectSize: number;
  timestamp: number;
  fragment: Uint8Array;
}

function addFragment(stream: AsfStream, { sequence, offset, objectSize, timestamp, fragment }: Fragment, context: PacketContext): void {
  const keep = context.keep.has(stream.number);
  let object = context.pending.get(stream.number);
  if (!object) {
    if (offset !== 0 || objectSize === 0) throw new NeedsFfprobe('ASF fragment without the start of its media object');
    object = { size: objectSize, sequence, timestamp, received: 0, data: keep ? new Uint8Array(objectSize) : undefined };
    context.pending.set(stream.number, object);
  } else if (object.size !== objectSize || object.sequence !== sequence || offset !== object.received) {
    throw new NeedsFfprobe('ASF media object interrupted or out of order');
  }
  if (offset + fragment.byteLength > object.size) throw new NeedsFfprobe('ASF fragment runs past its media object');
  object.data?.set(fragment, offset);
  object.received += fragment.byteLength;
  if (object.received === object.size) {
    context.pending.delete(stream.number);
    const previous = context.sequences.get(stream.number);
    context.sequences.set(stream.number, object.sequence);
    const afterGap = previous !== undefined && ((object.sequence - previous) & 0xff) !== 1;
    context.onObject({ stream, timestamp: object.timestamp, size: object.size, data: object.data, afterGap });
  }
}

function hex(bytes: Uint8Array, offset: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, length).toString('hex');
}

function utf16(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf16le').replace(/\0.*$/s, '');
}

function u64(bytes: Uint8Array, offset: number): number {
  return new Le(bytes, offset).u64();
}

/** Little-endian cursor; running past the end means the header is not what FFmpeg would read. */
class Le {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    public position: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.position;
  }

  private take(length: number): number {
    const at = this.position;
    if (length < 0 || at + length > this.bytes.byteLength) throw new NeedsFfprobe('ASF field runs past its object');
    this.position += length;
    return at;
  }

  /** A reader over the same bytes that ends at `end` (an object's end). */
  sub(end: number): Le {
    if (end > this.bytes.byteLength) throw new NeedsFfprobe('ASF object runs past the bytes read');
    return new Le(this.bytes.subarray(0, end), this.position);
  }

  skip(length: number): void {
    this.take(length);
  }
  u8(): number {
    return this.view.getUint8(this.take(1));
  }
  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.take(4), true);
  }
  u64big(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }
  u64(): number {
    const value = this.u64big();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new NeedsFfprobe(`ASF 64-bit field ${value}`);
    return Number(value);
  }
  guid(): string {
    return hex(this.bytes, this.take(16), 16);
  }
  fourcc(): string {
    const at = this.take(4);
    return String.fromCharCode(...this.bytes.subarray(at, at + 4));
  }
  slice(length: number): Uint8Array {
    const at = this.take(length);
    return this.bytes.subarray(at, at + length);
  }

  /** DO_2BITS: a field of 0, 1, 2 or 4 bytes by a 2-bit length type; [value, bytes read]. */
  sized(type: number, fallback: number): [number, number] {
    switch (type & 3) {
      case 3:
        return [this.u32(), 4];
      case 2:
        return [this.u16(), 2];
      case 1:
        return [this.u8(), 1];
      default:
        return [fallback, 0];
    }
  }
}

/** Video codecs (by BITMAPINFOHEADER fourcc) whose decoders set no frame rate and reorder nothing: FFmpeg leaves avg_frame_rate 0/0 and pts = the ASF time. */
const PLAIN_VIDEO_FOURCCS = new Set(['WMV1', 'WMV2', 'MP43', 'DIV3', 'MPG3', 'DIV4', 'DIV5', 'DIV6', 'DVX3', 'AP41', 'COL1', 'COL0', 'MP42', 'DIV2']);
/** Audio codecs FFmpeg runs no parser on in ASF, so a stream starts at its first object's time (WMA family, PCM, G.711, MS/IMA ADPCM). */
const PLAIN_AUDIO_TAGS = new Set([0x160, 0x161, 0x162, 0x163, 0x0a, 0x01, 0x02, 0x06, 0x07, 0x11]);

/** ffprobe -read_intervals %+#164 in the ffprobe path: the first packets whose timestamps judge VFR. */
const VFR_WINDOW_PACKETS = 164;
const VFR_PACKETS = 41;
/** avformat_find_stream_info's limits: probesize, max_analyze_duration (ms), packets before giving up on a stream's first dts. */
const PROBE_SIZE = 5_000_000;
const ANALYZE_MS = 5000;
const MAX_TS_PROBE = 50;
/** For audio whose packet durations are not modelled: how far short of 5 s its dts may run. */
const AUDIO_SPAN_MARGIN_MS = 1000;
const WMA_TAGS = new Set([0x160, 0x161]);
/** ff_wma_init refuses these, and a WMA stream whose decoder does not open is never described. */
const WMA_MAX_RATE = 50000;
const WMA_MAX_CHANNELS = 2;
/** fps_analyze_framecount, doubled for a millisecond time base. */
const FPS_ANALYZE_STEPS = 40;

/**
 * The video probe's facts for an ASF file, as the ffprobe path derives them: avg_frame_rate 0/0,
 * so fps is the video object count over the stream duration (File Properties play time less the
 * preroll), the format duration from the streams' start times, VFR from the first packets.
 */
export async function asfVideoFacts(source: ByteSource): Promise<VideoFacts> {
  const file = await parseAsf(source);
  return handOverWhole(source, file, () => describeVideo(source, file));
}

/**
 * Runs `work`; when it hands the file to ffprobe, the header's sizes are checked first, so that a
 * cut file is `truncated` rather than described by ffprobe from its header.
 */
async function handOverWhole<T>(source: ByteSource, file: AsfFile, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof NeedsFfprobe) await checkAsfSize(source, file);
    throw error;
  }
}

async function describeVideo(source: ByteSource, file: AsfFile): Promise<VideoFacts> {
  const video = file.streams.find((stream) => stream.type === 'video');
  if (!video) throw new ProbeError('no_video_stream', `${source.name} has no video stream`);
  checkModelled(file, video);
  const durationMs = Number(file.playTime / 10000n) - file.preroll;
  if (!(durationMs > 0)) throw new NeedsFfprobe(`ASF play time ${file.playTime} within the preroll ${file.preroll}`);
  const walk = await walkForVideo(source, file, video);
  // Each stream's start_time (its first dts, preroll already taken off); the format spans them all.
  const starts = [...walk.starts.values()];
  if (walk.starts.size !== file.streams.length) throw new NeedsFfprobe('ASF stream not seen while FFmpeg probes');
  const containerMs = durationMs + Math.max(...starts) - Math.min(...starts);
  return {
    mime: 'video/x-ms-asf',
    containerDuration: containerMs / 1000,
    stream: {
      width: video.width!,
      height: video.height!,
      avgFrameRate: walk.probe.rates.get(video)!.averageFrameRate(),
      frameCount: walk.videoObjects,
      duration: durationMs / 1000,
      sampleAspectRatio: video.aspect ?? file.aspect,
      variableFrameRate: timestampsVary(walk.vfrTimestamps),
    },
    // facts.ts names the readers; 'asf' is to be added to its union there.
    reader: 'asf',
  };
}

function checkModelled(file: AsfFile, video: AsfStream): void {
  if (file.pictures) throw new NeedsFfprobe('ASF cover art adds an attached-picture packet');
  if (!PLAIN_VIDEO_FOURCCS.has(video.fourcc!)) throw new NeedsFfprobe(`ASF video codec ${video.fourcc}`);
  if (!(video.width! > 0 && video.height! > 0)) throw new NeedsFfprobe(`ASF video of ${video.width}x${video.height}`);
  for (const stream of file.streams) {
    if (stream.type === 'data') throw new NeedsFfprobe('ASF data (command) stream');
    if (stream.type === 'video' && stream !== video) throw new NeedsFfprobe('ASF with several video streams');
    if (stream.wave && !PLAIN_AUDIO_TAGS.has(stream.wave.formatTag)) throw new NeedsFfprobe(`ASF audio tag 0x${stream.wave.formatTag.toString(16)} (parsed by FFmpeg)`);
    if (stream.wave && WMA_TAGS.has(stream.wave.formatTag)) checkWmaDecoderOpens(stream.wave);
  }
}

/**
 * find_stream_info waits for the decoder to give the sample format: wma_decode_init and
 * ff_wma_init refuse a block align of 0, more than 2 channels, over 50 kHz or no bit rate. The
 * bit rate must be the WAVEFORMATEX's (when 0, the demuxer takes another from the header).
 */
function checkWmaDecoderOpens(wave: AsfWaveFormat): void {
  const opens = wave.blockAlign > 0 && wave.channels > 0 && wave.channels <= WMA_MAX_CHANNELS && wave.sampleRate > 0 && wave.sampleRate <= WMA_MAX_RATE;
  if (!opens || wave.bytesPerSecond === 0) throw new NeedsFfprobe(`ASF WMA stream the decoder may not open (${wave.channels} ch, ${wave.sampleRate} Hz, block ${wave.blockAlign}, ${wave.bytesPerSecond} B/s)`);
}

/**
 * A packet's duration in ms as compute_pkt_fields sets it; undefined where not modelled. Video:
 * none (no frame rate is known while probing). WMA v1/v2: av_get_audio_frame_duration assumes
 * constant bit rate, samples = bytes * 8 * rate / bit rate, but only for a block align over 1
 * (the decoder sets no frame_size); the samples then round down to the millisecond time base.
 */
function packetDurationMs(stream: AsfStream, size: number): number | undefined {
  if (stream.type === 'video') return 0;
  const wave = stream.wave;
  if (!wave || !WMA_TAGS.has(wave.formatTag)) return undefined;
  const bitRate = wave.bytesPerSecond * 8;
  if (!(wave.blockAlign > 1 && size > 0)) return 0;
  const samples = Math.floor((size * 8 * wave.sampleRate) / bitRate);
  return Math.floor((samples * 1000) / wave.sampleRate);
}

interface VideoWalk {
  videoObjects: number;
  /** First object time of each stream, among the packets avformat_find_stream_info reads. */
  starts: Map<AsfStream, number>;
  vfrTimestamps: number[];
  probe: StreamInfoProbe;
}

async function walkForVideo(source: ByteSource, file: AsfFile, video: AsfStream): Promise<VideoWalk> {
  const probe = new StreamInfoProbe(file.streams, video);
  const walk: VideoWalk = { videoObjects: 0, starts: probe.starts, vfrTimestamps: [], probe };
  let emitted = 0;
  let lastVideo = -Infinity;
  let earliest = Infinity;
  await walkAsfObjects(source, file, new Set(), ({ stream, timestamp, size }) => {
    if (timestamp < file.preroll) throw new NeedsFfprobe('ASF object timed before the preroll (negative timestamp)');
    earliest = Math.min(earliest, timestamp);
    if (timestamp < earliest - 60000) throw new NeedsFfprobe('ASF timestamps far before the first: FFmpeg wraps them');
    probe.read(stream, timestamp - file.preroll, size);
    if (stream === video) {
      if (timestamp < lastVideo) throw new NeedsFfprobe('ASF video timestamps go back');
      lastVideo = timestamp;
      walk.videoObjects++;
      if (emitted < VFR_WINDOW_PACKETS && walk.vfrTimestamps.length < VFR_PACKETS) walk.vfrTimestamps.push(timestamp);
    }
    emitted++;
  });
  return walk;
}

/**
 * The packets avformat_find_stream_info reads before it stops (every stream seen and 40 video
 * dts steps, or 5 MB, or 5 s of one stream: the durations of its packets from the third on, or
 * without durations the span of its dts past 30 packets), and what it learns from them: each
 * stream's first time (its start_time) and the video frame rate guess.
 */
class StreamInfoProbe {
  readonly starts = new Map<AsfStream, number>();
  readonly rates = new Map<AsfStream, FrameRateGuess>();
  private readonly frames = new Map<AsfStream, number>();
  private readonly spans = new Map<AsfStream, { first?: number; last?: number; firstIndex: number; lastIndex: number }>();
  /** codec_info_duration (ms). */
  private readonly analysed = new Map<AsfStream, number>();
  private readSize = 0;
  private stopped = false;

  constructor(
    private readonly streams: AsfStream[],
    video: AsfStream,
  ) {
    this.rates.set(video, new FrameRateGuess({ num: 1, den: 1000 }));
  }

  read(stream: AsfStream, dts: number, size: number): void {
    if (this.stopped || (this.stopped = this.allFound() || this.readSize >= PROBE_SIZE)) return;
    this.readSize += size;
    const frames = this.frames.get(stream) ?? 0;
    if (!this.starts.has(stream)) this.starts.set(stream, dts);
    const duration = packetDurationMs(stream, size);
    if (duration === undefined && dts - this.starts.get(stream)! >= ANALYZE_MS - AUDIO_SPAN_MARGIN_MS) {
      throw new NeedsFfprobe('ASF probing may end on the audio duration');
    }
    if (frames > 1) {
      const span = this.analysedSpan(stream, dts, frames);
      const analysed = this.analysed.get(stream) ?? 0;
      if ((analysed || span) >= ANALYZE_MS) {
        this.stopped = true;
        return;
      }
      this.analysed.set(stream, analysed + (duration ?? 0));
    }
    this.rates.get(stream)?.add(dts);
    this.frames.set(stream, frames + 1);
  }

  private allFound(): boolean {
    return this.streams.every((stream) => {
      const guess = this.rates.get(stream);
      if (guess && guess.steps < FPS_ANALYZE_STEPS) return false;
      return this.starts.has(stream) || (this.frames.get(stream) ?? 0) >= MAX_TS_PROBE;
    });
  }

  /** fps_first_dts / fps_last_dts bookkeeping; the span (ms) once more than 30 packets were read. */
  private analysedSpan(stream: AsfStream, dts: number, frames: number): number {
    const span = this.spans.get(stream) ?? { firstIndex: 0, lastIndex: 0 };
    this.spans.set(stream, span);
    if (span.last !== undefined && span.last >= dts) span.first = span.last = undefined;
    if (span.last !== undefined && span.first !== undefined && span.lastIndex > span.firstIndex
      && Math.floor((dts - span.last) / 1000) > Math.floor((span.last - span.first) / (span.lastIndex - span.firstIndex))) {
      span.first = span.last = undefined;
    }
    if (span.first === undefined) {
      span.first = dts;
      span.firstIndex = frames;
    }
    span.last = dts;
    span.lastIndex = frames;
    return frames > 30 ? span.last - span.first : 0;
  }
}
