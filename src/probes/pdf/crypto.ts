import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import type { StreamDecryptor } from './objects.js';
import { PdfDict, PdfDoubt, PdfName, PdfString, type PdfRef, type PdfValue } from './syntax.js';

/**
 * The standard security handler (ISO 32000-2 §7.6.4) as poppler applies it, since the page
 * count is "what pdfinfo shows without a password":
 * - a handler poppler does not support (unknown V/R, StmF differing from StrF, bad O/U
 *   lengths, Identity crypt filters) is read as no encryption at all;
 * - otherwise the file opens when the empty owner or empty user password is accepted;
 * - a filter other than /Standard (public-key security) never opens.
 */
export type Encryption =
  | { kind: 'none' }
  | { kind: 'open'; decrypt: StreamDecryptor }
  | { kind: 'locked'; reason: string };

const PASSWORD_PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');
const EMPTY = Buffer.alloc(0);

type Algorithm = 'rc4' | 'aes' | 'aes256';

interface Handler {
  revision: number;
  keyLength: number;
  algorithm: Algorithm;
  owner: Buffer;
  user: Buffer;
  ownerEnc: Buffer;
  userEnc: Buffer;
  permissions: number;
  fileId: Buffer;
  encryptMetadata: boolean;
}

/** `encrypt` and the values it names must already be resolved (the /CF entry may be indirect). */
export function openEncryption(encrypt: PdfDict, cryptFilters: PdfDict | undefined, trailer: PdfDict): Encryption {
  const filter = encrypt.get('Filter');
  if (!(filter instanceof PdfName)) return { kind: 'locked', reason: 'encryption dictionary without a /Filter name' };
  if (filter.name !== 'Standard') return { kind: 'locked', reason: `encrypted with the /${filter.name} security handler` };
  const handler = standardHandler(encrypt, cryptFilters, trailer);
  if (!handler) return { kind: 'none' };
  if (handler.keyLength < 1) return { kind: 'locked', reason: 'encryption key length below one byte' };
  const fileKey = emptyPasswordKey(handler);
  if (!fileKey) return { kind: 'locked', reason: 'a password is required to open the file' };
  return { kind: 'open', decrypt: streamDecryptor(handler, fileKey) };
}

function stringBytes(value: PdfValue | undefined): Buffer | undefined {
  return value instanceof PdfString ? Buffer.from(value.bytes) : undefined;
}

/** poppler's StandardSecurityHandler constructor; undefined where poppler reads the file as unencrypted. */
function standardHandler(encrypt: PdfDict, cryptFilters: PdfDict | undefined, trailer: PdfDict): Handler | undefined {
  let version = encrypt.get('V');
  let revision = encrypt.get('R');
  const length = encrypt.get('Length');
  const owner = stringBytes(encrypt.get('O'));
  const user = stringBytes(encrypt.get('U'));
  const ownerEnc = stringBytes(encrypt.get('OE'));
  const userEnc = stringBytes(encrypt.get('UE'));
  const permissions = encrypt.get('P');
  if (!isInt(version) || !isInt(revision) || !isInt(permissions) || !owner || !user) return undefined;
  const modern = revision === 5 || revision === 6;
  const keysValid = modern
    ? owner.length >= 48 && user.length >= 48 && ownerEnc?.length === 32 && userEnc?.length === 32
    : revision <= 4 && owner.length > 0 && user.length > 0;
  if (!keysValid) return undefined;
  let algorithm: Algorithm = 'rc4';
  let keyLength = revision === 2 || !isInt(length) ? 5 : Math.trunc(length / 8);
  let encryptMetadata = true;
  if ((version === 4 || version === 5) && (revision === 4 || modern)) {
    const streamFilter = encrypt.get('StmF');
    const stringFilter = encrypt.get('StrF');
    if (cryptFilters && streamFilter instanceof PdfName && stringFilter instanceof PdfName && streamFilter.name === stringFilter.name) {
      if (streamFilter.name === 'Identity') return undefined;
      const cryptFilter = cryptFilters.get(streamFilter.name);
      const method = cryptFilter instanceof PdfDict ? cryptFilter.nameOf('CFM') : undefined;
      const filterLength = cryptFilter instanceof PdfDict ? cryptFilter.get('Length') : undefined;
      if (method === 'V2' || method === 'AESV2' || method === 'AESV3') {
        [version, revision] = method === 'AESV3' ? [5, revision] : [2, 3];
        algorithm = method === 'V2' ? 'rc4' : method === 'AESV2' ? 'aes' : 'aes256';
        // poppler reads the crypt filter /Length as bytes, not bits.
        if (isInt(filterLength)) keyLength = filterLength;
      }
    }
    const metadata = encrypt.get('EncryptMetadata');
    if (typeof metadata === 'boolean') encryptMetadata = metadata;
  }
  const legacy = version >= 1 && version <= 2 && revision >= 2 && revision <= 3;
  if (!legacy && !(version === 5 && (revision === 5 || revision === 6))) return undefined;
  const id = trailer.get('ID');
  return {
    revision,
    keyLength: Math.min(legacy ? 16 : 32, keyLength < 0 ? Infinity : keyLength),
    algorithm,
    owner: legacy ? zeroPad(owner) : owner,
    user: legacy ? zeroPad(user) : user,
    ownerEnc: ownerEnc ?? EMPTY,
    userEnc: userEnc ?? EMPTY,
    // /P may be written unsigned (4294967292); only its low 32 bits matter.
    permissions: Number(BigInt.asIntN(32, BigInt(permissions))),
    fileId: (legacy && Array.isArray(id) ? stringBytes(id[0]) : undefined) ?? EMPTY,
    encryptMetadata,
  };
}

function isInt(value: PdfValue | undefined): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Acrobat writes short O/U strings; poppler zero-pads them to 32 bytes. */
function zeroPad(key: Buffer): Buffer {
  return key.length >= 32 ? key : Buffer.concat([key, Buffer.alloc(32 - key.length)]);
}

/**
 * The file key when the empty user or owner password opens the file (poppler tries both;
 * either yields the same key).
 */
function emptyPasswordKey(h: Handler): Buffer | undefined {
  if (h.revision === 5 || h.revision === 6) return modernUserKey(h) ?? modernOwnerKey(h);
  return legacyFileKey(h, EMPTY) ?? legacyFileKey(h, legacyUserPasswordFromOwner(h));
}

const md5 = (data: Buffer): Buffer => createHash('md5').update(data).digest();

/** Algorithm 7: the user password the empty owner password unlocks. */
function legacyUserPasswordFromOwner(h: Handler): Buffer {
  let key = md5(PASSWORD_PAD);
  if (h.revision === 3) for (let i = 0; i < 50; i++) key = md5(key.subarray(0, h.keyLength));
  key = key.subarray(0, h.keyLength);
  if (h.revision === 2) return rc4(key, h.owner.subarray(0, 32));
  let password = h.owner.subarray(0, 32);
  for (let i = 19; i >= 0; i--) password = rc4(xorKey(key, i), password);
  return password;
}

/** Algorithms 2, 4 and 5: the file key from a user password, if that password is right. */
function legacyFileKey(h: Handler, password: Buffer): Buffer | undefined {
  const padded = Buffer.concat([password.subarray(0, 32), PASSWORD_PAD.subarray(0, Math.max(0, 32 - password.length))]);
  const permissions = Buffer.alloc(4);
  permissions.writeInt32LE(h.permissions);
  const parts = [padded, h.owner.subarray(0, 32), permissions, h.fileId];
  if (!h.encryptMetadata) parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  let key = md5(Buffer.concat(parts));
  if (h.revision === 3) for (let i = 0; i < 50; i++) key = md5(key.subarray(0, h.keyLength));
  key = key.subarray(0, h.keyLength);
  if (h.revision === 2) return rc4(key, h.user.subarray(0, 32)).equals(PASSWORD_PAD) ? key : undefined;
  let test = h.user.subarray(0, 32);
  for (let i = 19; i >= 0; i--) test = rc4(xorKey(key, i), test);
  const expected = md5(Buffer.concat([PASSWORD_PAD, h.fileId]));
  return test.subarray(0, 16).equals(expected.subarray(0, 16)) ? key : undefined;
}

function xorKey(key: Buffer, value: number): Buffer {
  return Buffer.from(key.map((byte) => byte ^ value));
}

function rc4(key: Buffer, data: Uint8Array): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

/** Algorithm 12 with the empty owner password: the file key from /OE. */
function modernOwnerKey(h: Handler): Buffer | undefined {
  const userData = h.user.subarray(0, 48);
  if (!modernHash(h, h.owner.subarray(32, 40), userData).equals(h.owner.subarray(0, 32))) return undefined;
  return aes256Unwrap(modernHash(h, h.owner.subarray(40, 48), userData), h.ownerEnc);
}

/** Algorithm 11 with the empty user password: the file key from /UE. */
function modernUserKey(h: Handler): Buffer | undefined {
  if (!modernHash(h, h.user.subarray(32, 40), EMPTY).equals(h.user.subarray(0, 32))) return undefined;
  return aes256Unwrap(modernHash(h, h.user.subarray(40, 48), EMPTY), h.userEnc);
}

/** SHA-256 of the (empty) password, salt and user data; revision 6 adds Algorithm 2.B's rounds. */
function modernHash(h: Handler, salt: Buffer, userData: Buffer): Buffer {
  let k = createHash('sha256').update(Buffer.concat([salt, userData])).digest();
  if (h.revision === 5) return k;
  for (let round = 0; ; round++) {
    const k1 = Buffer.concat(Array<Buffer>(64).fill(Buffer.concat([k, userData])));
    const cipher = createCipheriv('aes-128-cbc', k.subarray(0, 16), k.subarray(16, 32)).setAutoPadding(false);
    const e = Buffer.concat([cipher.update(k1), cipher.final()]);
    let sum = 0;
    for (let i = 0; i < 16; i++) sum += e[i]!;
    k = createHash(['sha256', 'sha384', 'sha512'][sum % 3]!).update(e).digest();
    if (round >= 63 && e[e.length - 1]! <= round + 1 - 32) return k.subarray(0, 32);
  }
}

function aes256Unwrap(key: Buffer, wrapped: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-cbc', key, Buffer.alloc(16)).setAutoPadding(false);
  return Buffer.concat([decipher.update(wrapped), decipher.final()]);
}

/** Algorithm 1: each stream is encrypted under a key derived from the file key and its object number. */
function streamDecryptor(h: Handler, fileKey: Buffer): StreamDecryptor {
  return (ref: PdfRef, data: Uint8Array): Uint8Array => {
    if (h.algorithm === 'aes256') return aesDecrypt('aes-256-cbc', fileKey, data);
    if (h.revision >= 5) throw new PdfDoubt('revision 5/6 encryption without an AESV3 crypt filter');
    const objectId = Buffer.from([ref.num & 0xff, (ref.num >> 8) & 0xff, (ref.num >> 16) & 0xff, ref.gen & 0xff, (ref.gen >> 8) & 0xff]);
    const salt = h.algorithm === 'aes' ? Buffer.from('sAlT') : EMPTY;
    const key = md5(Buffer.concat([fileKey, objectId, salt])).subarray(0, Math.min(16, fileKey.length + 5));
    return h.algorithm === 'aes' ? aesDecrypt('aes-128-cbc', key, data) : rc4(key, data);
  };
}

/** AES-CBC with the IV in the first block; PKCS#5 padding removed when present. */
function aesDecrypt(cipher: 'aes-128-cbc' | 'aes-256-cbc', key: Buffer, data: Uint8Array): Uint8Array {
  if (data.length < 16 || data.length % 16 !== 0) throw new PdfDoubt('AES-encrypted stream is not whole blocks');
  const decipher = createDecipheriv(cipher, key, data.subarray(0, 16)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  const pad = plain[plain.length - 1] ?? 0;
  return pad >= 1 && pad <= 16 && pad <= plain.length ? plain.subarray(0, plain.length - pad) : plain;
}
