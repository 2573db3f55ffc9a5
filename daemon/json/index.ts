export { jsonSyntaxError, placeOfOffset, placeOfPointer, type TextPlace } from './json-text.js';
export { scanJson, scanJsonText, JSON_SCAN, type JsonScan } from './scan-json.js';
export { parseJsonExact } from './parse-json-exact.js';
export { stringifyExact } from './stringify-exact.js';
