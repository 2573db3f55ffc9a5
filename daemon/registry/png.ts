// A logo must be a real PNG: the 8-byte signature, then a well-formed IHDR chunk with its CRC.

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as PNG chunks use it (ISO 3309), over the chunk type and data. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Why the bytes are not a PNG, or undefined when they are one (signature and IHDR checked). */
export function pngProblem(bytes: Uint8Array): string | undefined {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (data.length < SIGNATURE.length || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
    return 'is not a PNG file (the 8-byte PNG signature is missing)';
  }
  // signature (8) + length (4) + type (4) + IHDR data (13) + CRC (4)
  if (data.length < 33) return 'is a truncated PNG (no complete IHDR chunk)';
  const length = data.readUInt32BE(8);
  const type = data.toString('latin1', 12, 16);
  if (type !== 'IHDR' || length !== 13) return 'is not a valid PNG (its first chunk must be a 13-byte IHDR)';
  if (crc32(data.subarray(12, 29)) !== data.readUInt32BE(29)) return 'is a corrupt PNG (the IHDR checksum does not match)';
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  if (width === 0 || height === 0) return 'is not a valid PNG (zero width or height)';
  return undefined;
}
