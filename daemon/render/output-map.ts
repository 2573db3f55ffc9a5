// Where in the template each part of the output came from. Off on the per-event path: only a
// render that is being explained (its output is not valid JSON) turns it on, renders once more
// and maps the error's offset in the output back to the template's line and column.

export interface TemplatePlace {
  line: number;
  column: number;
}

interface Recording {
  /** Start offset in the template's main output of each write, in order. */
  starts: number[];
  places: TemplatePlace[];
  /** Whether each write was literal template text (its own newlines move the place) or a value. */
  literal: boolean[];
}

let recording: Recording | undefined;

/** Called by the runtime for each write to a template's main output (never a macro's or a {% set %} block's). */
export function recordWrite(start: number, line: number, column: number, literal: boolean): void {
  if (!recording) return;
  recording.starts.push(start);
  recording.places.push({ line, column });
  recording.literal.push(literal);
}

/** Runs `render` with writes recorded and returns the template place of `offset` in its output. */
export function placeInTemplate(render: () => string, offset: number): TemplatePlace | undefined {
  const own: Recording = { starts: [], places: [], literal: [] };
  const outer = recording;
  recording = own;
  let output: string;
  try {
    output = render();
  } catch {
    return undefined;
  } finally {
    recording = outer;
  }
  let index = -1;
  for (let at = 0; at < own.starts.length && own.starts[at] <= offset; at++) index = at;
  if (index === -1) return undefined;
  const place = own.places[index];
  if (!own.literal[index]) return place;
  // Inside literal template text the output and the template match character for character.
  const before = output.slice(own.starts[index], offset).split('\n');
  if (before.length === 1) return { line: place.line, column: place.column + before[0].length };
  return { line: place.line + before.length - 1, column: before[before.length - 1].length + 1 };
}
