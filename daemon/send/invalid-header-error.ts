// A header value HTTP cannot carry (a line break, a control character, a character beyond U+00FF)
// is refused by the sender before undici sees it (undici would refuse it too, with "invalid x-tenant
// header", but only once a connection is free), naming the header and the fix; classify() makes it
// a permanent `invalid_header` failure. Event data never gets here (render encodes it): this is a
// sync parameter or a template's own text, so every event of the sync would fail the same way.
import { unsendableHeaderMessage, type UnsendableHeader } from '../render/index.js';

/** Thrown by the sender instead of sending; `code` is what classify() recognises. */
export class InvalidHeaderError extends Error {
  override readonly name = 'InvalidHeaderError';
  readonly code = 'ERR_INVALID_HEADER';
  readonly header: string;

  constructor(unsendable: UnsendableHeader) {
    super(`${unsendableHeaderMessage(unsendable)}: the request was not sent`);
    this.header = unsendable.name;
  }
}
