// Text from events and dead letters is the publisher's: printed raw, an ESC or CSI sequence in it
// would drive the operator's terminal (move the cursor, rewrite lines, set the title). Every CLI
// line that can carry such text goes through here.

/** C0 and C1 controls, DEL, and the line/paragraph separators and bidi overrides that reorder what is shown. */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_AND_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escape = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One line of output: every control character, newline included, written as \uXXXX. */
export function terminalLine(text: string): string {
  return text.replace(CONTROLS_AND_NEWLINE, escape);
}

/**
 * Multi-line output (JSON.stringify with indentation keeps its newlines): every other control
 * written as \uXXXX, which is also valid inside a JSON string, so JSON output stays JSON.
 */
export function terminalText(text: string): string {
  return text.replace(CONTROLS, escape);
}
