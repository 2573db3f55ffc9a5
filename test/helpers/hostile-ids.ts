// Ids (insert_id, user_id) that an HTTP header cannot carry as they are, one per kind of character
// a publisher can put in a JSON string: every Unicode plane, unpaired surrogates (JSON "\ud800"),
// C0 and C1 controls, NUL, DEL, CR/LF (an attempt at header injection), Latin-1 (which undici
// would send as single bytes), white space at the ends, and ids of 10 KB.
export const HOSTILE_IDS: ReadonlyArray<readonly [what: string, id: string]> = [
  ['emoji (SMP), the issue\'s example', 'x-😀'],
  ['Latin-1', 'café-ñ-ÿ'],
  ['BMP beyond Latin-1', '中文-Ω-€'],
  ['SIP (plane 2)', 'x-\u{20000}\u{2A6D6}'],
  ['TIP and SSP (planes 3 and 14)', '\u{30000}-\u{E0001}'],
  ['private use (plane 16, the last)', '\u{10FFFD}'],
  ['unpaired high surrogate', '\ud800'],
  ['unpaired low surrogate', 'a\udc00b'],
  ['U+FFFD, what UTF-8 makes of a lone surrogate', '\ufffd'],
  ['NUL', 'a\u0000b'],
  ['C0 controls', '\u0001\u001b[31m\u001f'],
  ['CR/LF header injection', 'x\r\nX-Injected: 1'],
  ['a lone LF', 'x\ny'],
  ['DEL', 'x\u007f'],
  ['C1 controls', '\u0085\u009b'],
  ['a tab inside', 'a\tb'],
  ['spaces at the ends', ' padded '],
  ['10 KB of ASCII', 'a'.repeat(10_240)],
  ['10 KB of emoji', '😀'.repeat(2_560)],
  ['an id that looks like a hashed one', 'sha256:0123456789abcdef0123456789abcdef'],
];

/** Ids sent as they are. */
export const PLAIN_IDS: readonly string[] = ['insert-1', '8e03978e-40d5-43e8-bc93-6894a57f9324', 'a b', '%F0%9F%98%80', 'x'.repeat(255)];
