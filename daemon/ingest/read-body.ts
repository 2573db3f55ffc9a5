// A request's body, bounded before and after gzip: a Content-Length over the limit is refused
// before a byte is read, a stream that runs past it is cut, and gzip is inflated with the same
// limit on its output (a small bomb cannot grow past it). Both SDKs may gzip their uploads.
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';

export type BodyResult = { ok: true; body: Buffer; wireBytes: number } | { ok: false; tooLarge: true } | { ok: false; tooLarge: false; message: string };

export async function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return { ok: false, tooLarge: true };
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') return { ok: false, tooLarge: false, message: `Content-Encoding ${encoding.slice(0, 40)} is not supported: send gzip or none` };
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) return { ok: false, tooLarge: true };
    chunks.push(chunk);
  }
  const wire = Buffer.concat(chunks, length);
  if (encoding === 'identity') return { ok: true, body: wire, wireBytes: length };
  try {
    const body = await new Promise<Buffer>((resolve, reject) => gunzip(wire, { maxOutputLength: maxBytes }, (error, result) => (error ? reject(error) : resolve(result))));
    return { ok: true, body, wireBytes: length };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, tooLarge: true };
    return { ok: false, tooLarge: false, message: `the body is not valid gzip (${(error as Error).message})` };
  }
}
