import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Database } from '../src/db/database';
import { addDays, LocalDate } from '../src/domain/dates';
import { Record, runCli, timed } from './common';

/**
 * The import paths issue 16 added, end to end through `zonerisk import-reports` (read,
 * normalise, resolve names, validate, store): a 1,000,000-row XLSX as a commune health
 * station types it (Vietnamese headers, date cells) and a 1,000,000-row CSV that names its
 * communes and districts (semicolon, dd/mm/yyyy, BOM) — each printed in rows/s next to the
 * floor, PostgreSQL's bare COPY of the plain CSV measured in the same run. Target: 100,000
 * rows/s each. The files are written first (not timed).
 */
export async function benchImportPaths(db: Database, dir: string, rows: number, bareRate: number, record: Record): Promise<void> {
  const areas = await db.knex.raw<{ rows: { code: string; name: string; district: string }[] }>(
    `SELECT a.code, a.name, p.name AS district FROM areas a JOIN areas p ON p.id = a.parent_id WHERE a.kind = 'commune' ORDER BY a.code`,
  );
  const communes = areas.rows;
  const dateOf = (n: number) => addDays('2000-01-01' as LocalDate, Math.floor(n / communes.length));
  const dmy = (d: LocalDate) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;

  const xlsx = path.join(dir, 'bao-cao.xlsx');
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: xlsx, useSharedStrings: true });
  const ws = wb.addWorksheet('Báo cáo');
  ws.addRow(['Mã xã', 'Ngày', 'Ca cộng đồng', 'Ca trong khu cách ly/phong tỏa', 'Tử vong']).commit();
  const named = path.join(dir, 'bao-cao-theo-ten.csv');
  const fd = fs.openSync(named, 'w');
  let buf = '\uFEFFXã/Phường;Quận/Huyện;Ngày;Ca cộng đồng;Ca trong khu cách ly/phong tỏa;Tử vong\r\n';
  for (let n = 0; n < rows; n++) {
    const c = communes[n % communes.length] as (typeof communes)[number];
    const date = dateOf(n);
    const cc = (n * 7) % 23;
    const qc = (n * 3) % 11;
    const deaths = n % 97 === 0 ? 1 : 0;
    ws.addRow([c.code, new Date(`${date}T00:00:00Z`), cc, qc, deaths]).commit();
    buf += `${c.name};${c.district};${dmy(date)};${cc};${qc};${deaths}\r\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  ws.commit();
  await wb.commit();

  const run = async (label: string, file: string) => {
    await db.knex.raw('TRUNCATE reports, report_revisions');
    await db.knex.raw('CHECKPOINT');
    const r = await timed(() => runCli(['import-reports', file, '--no-recompute']));
    if (r.value.code !== 0) throw new Error(`import-reports ${label} failed: ${r.value.err}`);
    const rate = rows / (r.ms / 1000);
    const mb = (fs.statSync(file).size / 1e6).toFixed(1);
    record(
      `reports: import-reports ${label} (${mb} MB)`,
      `${(r.ms / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString('en')} rows/s, ${(rate / bareRate).toFixed(2)}× bare COPY`,
      '≥ 100,000 rows/s',
      rate >= 100_000,
    );
    console.log(`    ${r.value.out.trim().split('\n')[0]}`);
  };
  await run(`XLSX, ${rows.toLocaleString('en')} rows, Vietnamese headers`, xlsx);
  await run(`CSV by name, ${rows.toLocaleString('en')} rows (commune + district names, ; dd/mm/yyyy)`, named);
}
