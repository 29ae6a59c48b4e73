// Plain-text tables for the benchmark output: aligned columns, numbers right-aligned, no colours, so
// the same text reads well in a terminal, a CI log and docs/performance.md (it is also valid Markdown).

export interface Column {
  header: string;
  /** Right-align (numbers). Default: left. */
  right?: boolean;
}

export interface Table {
  title: string;
  columns: Column[];
  rows: string[][];
  /** Printed under the table: sources, caveats. */
  notes?: string[];
}

/** Renders a table as Markdown with padded cells: aligned in a terminal and in a rendered page. */
export function formatTable(table: Table): string {
  const { columns, rows } = table;
  for (const [i, row] of rows.entries()) {
    if (row.length !== columns.length) {
      throw new Error(`${table.title}: row ${i} has ${row.length} cells, expected ${columns.length}`);
    }
  }
  const widths = columns.map((c, i) => Math.max(3, width(c.header), ...rows.map((r) => width(r[i]!))));
  const pad = (text: string, i: number) => {
    const gap = ' '.repeat(widths[i]! - width(text));
    return columns[i]!.right ? gap + text : text + gap;
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `|${columns.map((c, i) => (c.right ? `${'-'.repeat(widths[i]! + 1)}:` : '-'.repeat(widths[i]! + 2))).join('|')}|`;
  const out = [`### ${table.title}`, '', line(columns.map((c) => c.header)), rule, ...rows.map(line)];
  if (table.notes?.length) out.push('', ...table.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

// Code points, not UTF-16 units: "→" and "×" count as one column.
function width(text: string): number {
  return [...text].length;
}
