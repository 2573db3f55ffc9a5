export { jsonSyntaxError, placeOfOffset, placeOfPointer, type TextPlace } from './json-text.js';
