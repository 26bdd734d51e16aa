/**
 * The run report of a fault run, written into the run's folder after the checkers have judged
 * its history:
 *
 * - results.json: the run's facts (seed, nodes, nemeses, settings), the verdict, every
 *   checker's anomalies and stats, and summary counts (history entries by f and type, faults
 *   injected by kind, invokes never completed, faults never healed).
 * - report.html: one self-contained page, opened from disk with no network (Chart.js and the
 *   data are inline): the verdict, how to run it again, each checker's anomalies with examples,
 *   a latency scatter and a throughput plot with the fault windows shaded, and the nemesis
 *   timeline.
 *
 * series.ts holds the pure computations (pairing, rates, fault windows, downsampling), model.ts
 * turns the inputs into what the report shows, html.ts renders the page and write-report.ts does
 * the I/O. The page stays responsive for histories of a million ops: each latency dataset is
 * thinned with a uniform stride (ok points to 20,000; fail and info points are kept up to
 * 100,000) and rates are 1 s buckets.
 *
 * The report describes a history and does not judge it: a malformed one (a completion with no
 * invoke) is counted and skipped here, and rejected by the checkers.
 */
export {
  EXAMPLE_CHARS_MAX,
  EXAMPLES_SHOWN_MAX,
  escapeHtml,
  inlineJson,
  inlineScript,
  renderReportHtml,
} from './html.js';
export {
  LATENCY_OK_POINTS_MAX,
  LATENCY_OTHER_POINTS_MAX,
  RATE_BUCKET_MS,
  TIMELINE_ROWS_MAX,
  buildReportModel,
  latencyDatasets,
  type LatencyDataset,
  type PageData,
  type RateData,
  type ReportInput,
  type ReportModel,
  type ResultsFile,
  type RunFacts,
  type RunSummary,
  type TimelineRow,
  type WindowData,
} from './model.js';
export {
  OUTCOMES,
  bucketRates,
  countOps,
  downsample,
  faultWindows,
  pairCompletions,
  type Completion,
  type FaultWindow,
  type OpCounts,
  type OpSummary,
  type Outcome,
  type Pairing,
  type RateSeries,
  type Rates,
} from './series.js';
export {
  REPORT_FILE,
  RESULTS_FILE,
  readChartJs,
  writeReport,
  type ReportFiles,
} from './write-report.js';
