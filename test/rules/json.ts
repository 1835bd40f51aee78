/**
 * JSON as people read it: like `JSON.stringify(value, null, 2)`, but an array or object that
 * fits on one line (with its key and indentation, within `width` characters) is written on
 * one line, with a space after each separator. Used to write the fixture files back
 * (REGEN=1) and to write the preset data files.
 */
export function formatJson(value: unknown, width = 160): string {
  return `${format(value, '', 0, width)}\n`;
}

function format(value: unknown, indent: string, used: number, width: number): string {
  const line = oneLine(value);
  if (value === null || typeof value !== 'object' || indent.length + used + line.length <= width) return line;
  const inner = `${indent}  `;
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + format(v, inner, 0, width)).join(',\n')}\n${indent}]`;
  const entries = defined(value);
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner, JSON.stringify(k).length + 2, width)}`).join(',\n')}\n${indent}}`;
}

const defined = (o: object) => Object.entries(o).filter(([, v]) => v !== undefined);

/** `{ "a": 1, "b": [1, 2] }` */
function oneLine(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(oneLine).join(', ')}]`;
  const entries = defined(value);
  return entries.length ? `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`).join(', ')} }` : '{}';
}
