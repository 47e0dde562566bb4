// What listings print: `-o table` (the default) and `-o json`.

/**
 * Rows as aligned columns under a header (the `-o table` of listings).
 *
 * @example
 * printTable(['NAME', 'ROLES'], [['alice', 'viewer']]);
 */
export function printTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const row of all)
    console.log(
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('   ')
        .trimEnd(),
    );
}

/** A value as JSON on stdout (the `-o json` of listings). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}
