import * as fs from 'fs';

export function exportCsv(path: string, rows: string[][]): void {
  const out = fs.createWriteStream(path); // expect: unclosed-resource
  for (const r of rows) out.write(r.join(',') + '\n');
}
