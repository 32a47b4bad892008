import { describe, expect, it } from "vitest";
import { metricNamesIn, metricNamesInGrafanaQuery } from "./promql.ts";

describe("metric names in PromQL", () => {
  it("finds the metrics under functions, aggregations, ranges and matchers", () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le) (rate(unclip_image_latency_seconds_bucket{namespace="unclip", le!="x"}[10m]))) > 30',
      ),
    ).toEqual(new Set(["unclip_image_latency_seconds_bucket"]));
  });

  it("finds both sides of a binary operation and ignores keywords, numbers and vector()", () => {
    expect(
      metricNamesIn(
        "(count(unclip_ready == 1) or vector(0)) < 2 and on (pod) unclip_queue_dept offset 5m > bool 1e3",
      ),
    ).toEqual(new Set(["unclip_ready", "unclip_queue_dept"]));
  });

  it("reads the metric of a Grafana label_values() query, not its label", () => {
    expect(
      metricNamesInGrafanaQuery('label_values(unclip_ready{namespace="unclip"}, pod)'),
    ).toEqual(new Set(["unclip_ready"]));
  });
});
