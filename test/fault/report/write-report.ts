/**
 * Writes a run's report into its folder: results.json (the run's facts, the checkers' results
 * and summary counts, for scripts and for comparing runs) and report.html (for people).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { renderReportHtml } from './html.js';
import { buildReportModel, type ReportInput } from './model.js';

export const RESULTS_FILE = 'results.json';
export const REPORT_FILE = 'report.html';

export interface ReportFiles {
  readonly resultsFile: string;
  readonly reportFile: string;
}

/**
 * Writes results.json and report.html into runDir (which must exist), replacing earlier ones,
 * and returns their paths. Reads the Chart.js bundle from node_modules; throws if it is missing.
 */
export async function writeReport(runDir: string, input: ReportInput): Promise<ReportFiles> {
  const model = buildReportModel(input);
  const chartJs = await readChartJs();
  const resultsFile = join(runDir, RESULTS_FILE);
  const reportFile = join(runDir, REPORT_FILE);
  await writeFile(resultsFile, JSON.stringify(model.results, null, 2) + '\n', { encoding: 'utf8' });
  await writeFile(reportFile, renderReportHtml(model, chartJs), { encoding: 'utf8' });
  return { resultsFile, reportFile };
}

/**
 * The Chart.js UMD bundle's source. chart.js's package exports do not list its dist/ files, so
 * this resolves the package's main entry (dist/chart.cjs) and takes its sibling; resolving from
 * this module works from test/ and from dist/test/ alike.
 */
export async function readChartJs(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFile(join(dirname(main), 'chart.umd.min.js'), { encoding: 'utf8' });
}
