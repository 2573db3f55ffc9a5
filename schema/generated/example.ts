/* eslint-disable */
/**
 * Generated from schema/example.schema.json by tools/generate-types.ts. DO NOT EDIT BY HAND:
 * change the schema and run `npm run generate-types`.
 */

/**
 * A golden test of a destination: one event, the sync it is rendered with, and the request it must render to. Lives in destinations/<slug>/examples/<case>.json; validate renders every example (secret parameters as <secret:NAME> placeholders) and compares.
 */
export interface DestinationExample {
  $schema?: string;
  /**
   * What this example shows.
   */
  description?: string;
  /**
   * One event in the shape of schema/event.schema.json; an $identify event renders the identify request.
   */
  event: {
    [k: string]: unknown | undefined;
  };
  /**
   * Name of the sync in syncs/ (file name without .json) to render with; the first sync in name order when absent.
   */
  sync?: string;
  expect: {
    method: 'PUT' | 'POST' | 'PATCH';
    url: string;
    /**
     * Compared for the names given here (case-insensitive); other rendered headers are not compared.
     */
    headers?: {
      [k: string]: string | undefined;
    };
    /**
     * Compared as parsed JSON when the request's content type is JSON, else as exact text (then a string).
     */
    body: {} | unknown[] | string | number | boolean | null;
  };
}
