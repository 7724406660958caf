/** The parser ships no types: it returns one object per metric family (see test/worker/metrics.test.ts). */
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
