/* eslint-disable */
/**
 * Generated from schema/dead-letter.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

/**
 * A message that could not be delivered, with why: one JSON message on the DEAD stream (subject dead.<destination>.<sync>), written before the original is terminated. Always fits the server's max_payload: an event too large to keep whole is kept as an excerpt with its size and SHA-256 (see truncated), and the original stays readable in the event stream at source.sequence while the stream holds it.
 */
export interface DeadLetter {
  /**
   * Version of this record's shape.
   */
  format: 1;
  deadAt: string;
  /**
   * The destination's slug.
   */
  destination: string;
  /**
   * The sync's id, <destination>.<sync>.
   */
  sync: string;
  /**
   * Content hash of the destination's definition when the delivery died.
   */
  definitionVersion: string;
  /**
   * Why, as a code (daemon/reasons.ts DEAD_LETTER_REASONS; docs/cli.md says what each means).
   */
  reason:
    | 'invalid_event'
    | 'event_too_large'
    | 'missing_required_field'
    | 'identifier_too_long'
    | 'render_failed'
    | 'contract_violation'
    | 'http_4xx'
    | 'invalid_request'
    | 'invalid_header'
    | 'egress_denied'
    | 'unexpected'
    | 'retries_exhausted';
  /**
   * Why, in words; secrets redacted.
   */
  message?: string;
  /**
   * contract_violation: where the request breaks the destination's contract.
   */
  detail?: {
    /**
     * The contract file, relative to the destination's folder.
     */
    contract: string;
    /**
     * The part of the request that breaks it.
     */
    part: 'method' | 'query' | 'headers' | 'body' | 'request';
    /**
     * JSON pointer into that part (the body's /events/0/name); empty for the part itself.
     */
    pointer: string;
    /**
     * The failing rule in the contract (#/properties/body/.../pattern).
     */
    schemaPath: string;
  };
  attempts: number;
  /**
   * The destination's last HTTP status, if it answered.
   */
  lastStatus?: number;
  /**
   * The start of the destination's last response body; secrets redacted.
   */
  responseExcerpt?: string;
  /**
   * The rendered request, secrets redacted; a long body is cut.
   */
  request?: {
    method: string;
    url: string;
    headers: {
      [k: string]: string | undefined;
    };
    body: string;
  };
  /**
   * The event as published, parsed: present when it was JSON that can be kept as a value (not nested past the decode limit, no integer beyond 2^53) and fits.
   */
  event?: unknown;
  /**
   * The event as published, as text: when it was JSON that could not be kept under event (nested past the decode limit, integers beyond 2^53), or its first bytes when truncated.
   */
  eventText?: string;
  /**
   * The event's bytes in base64, when they were not UTF-8 JSON (or the first of them, when truncated).
   */
  rawEvent?: string;
  /**
   * Present when the event did not fit the server's max_payload: eventText or rawEvent holds only its first keptBytes bytes. The whole event is at source.sequence in source.stream while that stream holds it (dead show fetches it and checks the hash).
   */
  truncated?: {
    /**
     * Size of the original message.
     */
    eventBytes: number;
    keptBytes: number;
    /**
     * SHA-256 of the original message's bytes, hex.
     */
    sha256: string;
  };
  insertId?: string;
  source: {
    stream: string;
    sequence: number;
    subject: string;
    publishedAt: string;
  };
}
