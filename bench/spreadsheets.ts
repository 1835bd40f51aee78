import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { sniffTable } from '../src/ingest/table/dialect';
import { normaliseTable } from '../src/ingest/table/normalise';

/**
 * Spreadsheet normalising speed (the acceptance: ≥ 100,000 rows/s each for a
 * 1,000,000-row sheet). Writes, in a temp dir (removed afterwards), `rows` report rows
 * (`Mã xã, Ngày, Ca cộng đồng, Ca trong khu cách ly/phong tỏa, Tử vong`) as an XLSX with
 * exceljs's streaming writer (shared strings, date-typed cells) and as the CSV a
 * Vietnamese-locale Excel saves (BOM, `;`, dd/mm/yyyy); then times normaliseTable over each
 * file (read in 64 KiB chunks, output consumed and counted) and returns rows per second.
 * Writing the files is not timed.
 */
export async function spreadsheetBench(rows: number): Promise<{ xlsxRowsPerSec: number; csvViRowsPerSec: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zonerisk-sheets-'));
  try {
    const header = ['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong'];
    const xlsx = path.join(dir, 'reports.xlsx');
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: xlsx, useSharedStrings: true });
    const ws = wb.addWorksheet('Báo cáo');
    ws.addRow(header).commit();
    const csv = path.join(dir, 'reports.csv');
    const fd = fs.openSync(csv, 'w');
    let buf = `\uFEFF${header.join(';')}\r\n`;
    for (let n = 0; n < rows; n++) {
      const day = new Date(Date.UTC(2021, 0, 1) + Math.floor(n / 5000) * 86_400_000);
      const area = `X${String(n % 5000).padStart(5, '0')}`;
      const cc = (n * 7) % 23;
      const qc = (n * 3) % 11;
      const deaths = n % 97 === 0 ? 1 : 0;
      ws.addRow([area, day, cc, qc, deaths]).commit();
      const dmy = `${String(day.getUTCDate()).padStart(2, '0')}/${String(day.getUTCMonth() + 1).padStart(2, '0')}/${day.getUTCFullYear()}`;
      buf += `${area};${dmy};${cc};${qc};${deaths}\r\n`;
      if (buf.length > 1 << 20) {
        fs.writeSync(fd, buf);
        buf = '';
      }
    }
    fs.writeSync(fd, buf);
    fs.closeSync(fd);
    ws.commit();
    await wb.commit();
    const xlsxRowsPerSec = await time(xlsx, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', rows);
    const csvViRowsPerSec = await time(csv, 'text/csv', rows);
    return { xlsxRowsPerSec, csvViRowsPerSec };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Rows/s of normaliseTable over a file; checks the output has a line per row (+ header). */
async function time(file: string, contentType: string, rows: number): Promise<number> {
  const fh = fs.openSync(file, 'r');
  const first = Buffer.alloc(65_536);
  const n = fs.readSync(fh, first, 0, first.length, 0);
  fs.closeSync(fh);
  const dialect = sniffTable(first.subarray(0, n), contentType);
  const t0 = process.hrtime.bigint();
  let lines = 0;
  for await (const out of normaliseTable(fs.createReadStream(file, { highWaterMark: 65_536 }), dialect, 'reports')) {
    for (let i = out.indexOf(10); i >= 0; i = out.indexOf(10, i + 1)) lines++;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (lines !== rows + 1) throw new Error(`${file}: ${lines} output lines for ${rows} rows`);
  return Math.round(rows / seconds);
}

if (require.main === module) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  spreadsheetBench(rows).then((r) => console.log(JSON.stringify(r)));
}
