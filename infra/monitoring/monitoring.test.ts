// The pool's alert rules, their unit tests, the Alertmanager route and the dashboard, checked
// with Prometheus's and Alertmanager's own tools (Debian packages `prometheus` for promtool and
// `prometheus-alertmanager` for amtool) and against the metric names the runner exports.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ANALYTICS_COLUMNS } from "../../edge/src/observability/requestRecord.ts";
import { RunnerMetrics } from "../../gpu-runner/src/metrics.ts";
import { metricNamesIn, metricNamesInGrafanaQuery } from "./promql.ts";

const here = dirname(fileURLToPath(import.meta.url));
const read = (name: string) => readFileSync(join(here, name), "utf8");

interface AlertRule {
  alert: string;
  expr: string;
  labels: { severity: string };
  annotations: { summary: string; runbook_url: string };
}
const rules: AlertRule[] = parse(read("alerts.yaml")).groups.flatMap(
  (g: { rules: AlertRule[] }) => g.rules,
);

function tool(command: string, args: string[]) {
  const run = spawnSync(command, args, { cwd: here, encoding: "utf8" });
  if (run.error) {
    throw new Error(
      `${command} is not installed (${run.error.message}): apt-get install prometheus prometheus-alertmanager`,
    );
  }
  return { status: run.status, stdout: run.stdout, output: `${run.stdout}${run.stderr}` };
}

/** Every series name the runner's /metrics can show (histograms as their three series). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new RunnerMetrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    if (type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
    } else if (type === "summary") {
      for (const suffix of ["", "_sum", "_count"]) names.add(metric.name + suffix);
    } else names.add(metric.name);
  }
  return names;
}

describe("pool alert rules", () => {
  it("pass promtool check rules", () => {
    const { status, output } = tool("promtool", ["check", "rules", "alerts.yaml"]);
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it("pass their promtool unit tests", () => {
    const { status, output } = tool("promtool", ["test", "rules", "alerts.test.yaml"]);
    expect(output, output).toContain("SUCCESS");
    expect(status).toBe(0);
  });

  it("each have a unit test where they fire and one where they stay quiet", () => {
    interface Case {
      alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
    }
    const cases = (parse(read("alerts.test.yaml")).tests as Case[]).flatMap(
      (t) => t.alert_rule_test,
    );
    for (const { alert } of rules) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} is quiet in a test`,
      ).toBe(true);
    }
  });

  it("each point at their own section of the runbook", () => {
    const runbook = readFileSync(join(here, "../RUNBOOK.md"), "utf8");
    for (const { alert, annotations, labels } of rules) {
      expect(annotations.runbook_url).toBe(`infra/RUNBOOK.md#${alert.toLowerCase()}`);
      expect(runbook, `RUNBOOK.md has a section for ${alert}`).toMatch(
        new RegExp(`^### ${alert}$`, "m"),
      );
      expect(["warning", "critical"]).toContain(labels.severity);
    }
  });
});

describe("metric names", () => {
  it("in the alert rules and every dashboard panel are exported by the runner", async () => {
    const exported = await exportedNames();
    const dashboard = JSON.parse(read("dashboard.json"));
    const used: [string, Set<string>][] = [
      ...rules.map((r): [string, Set<string>] => [`alert ${r.alert}`, metricNamesIn(r.expr)]),
      ...dashboard.panels.flatMap((p: { title: string; targets: { expr: string }[] }) =>
        p.targets.map((t): [string, Set<string>] => [`panel "${p.title}"`, metricNamesIn(t.expr)]),
      ),
      ...dashboard.templating.list
        .filter((v: { type: string }) => v.type === "query")
        .map((v: { name: string; definition: string }): [string, Set<string>] => [
          `variable $${v.name}`,
          metricNamesInGrafanaQuery(v.definition),
        ]),
    ];
    for (const [where, names] of used) {
      expect(names.size, `${where} reads a metric`).toBeGreaterThan(0);
      for (const name of names) expect(exported, `${where} reads ${name}`).toContain(name);
    }
  });

  it("check catches a metric the runner does not export", async () => {
    const exported = await exportedNames();
    const names = metricNamesIn('sum(unclip_queue_depth_typo{namespace="unclip"})');
    expect([...names].filter((n) => !exported.has(n))).toEqual(["unclip_queue_depth_typo"]);
  });
});

describe("Alertmanager", () => {
  it("accepts the configuration", () => {
    const { status, output } = tool("amtool", ["check-config", "alertmanager.yaml"]);
    expect(output).toContain("SUCCESS");
    expect(status).toBe(0);
  });

  it("pages on-call for critical alerts and tells the team about warnings", () => {
    const route = (labels: string[]) =>
      tool("amtool", [
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yaml",
        ...labels,
      ]).stdout.trim();
    expect(route(["alertname=UnclipRunnerWithoutGpu", "severity=critical"])).toBe("unclip-oncall");
    expect(route(["alertname=UnclipQueueAboveTarget", "severity=warning"])).toBe("unclip-team");
  });
});

describe("edge alert rules (Grafana, on Analytics Engine)", () => {
  interface GrafanaRule {
    title: string;
    labels: { severity: string };
    annotations: { runbook_url: string };
    data: { datasourceUid: string; model: { query?: string } }[];
  }
  const edgeRules: GrafanaRule[] = parse(read("edge-alerts.yaml")).groups.flatMap(
    (g: { rules: GrafanaRule[] }) => g.rules,
  );
  const queries = (rule: GrafanaRule) =>
    rule.data.flatMap((d) => (d.model.query === undefined ? [] : [d.model.query]));

  it("cover 5xx, an unreachable pool, refused signatures and the probe, each in the runbook", () => {
    const runbook = readFileSync(join(here, "../RUNBOOK.md"), "utf8");
    expect(edgeRules.map((r) => r.title)).toEqual([
      "EdgeServerErrors",
      "EdgePoolUnreachable",
      "EdgePoolSignatureRefused",
      "EdgeProbeFailing",
    ]);
    for (const rule of edgeRules) {
      expect(rule.annotations.runbook_url).toBe(`infra/RUNBOOK.md#${rule.title.toLowerCase()}`);
      expect(runbook).toMatch(new RegExp(`^### ${rule.title}$`, "m"));
      expect(queries(rule)).toHaveLength(1);
    }
  });

  // Importing wrangler (its config reader) takes seconds, tens on a busy machine.
  it("read the production dataset and only the columns the edge writes", {
    timeout: 120_000,
  }, async () => {
    const { unstable_readConfig } = await import("wrangler");
    const config = unstable_readConfig({
      config: join(here, "../../wrangler.toml"),
      env: "production",
    });
    const dataset = config.analytics_engine_datasets.find(
      (d: { binding: string }) => d.binding === "REQUEST_METRICS",
    )?.dataset;
    expect(dataset).toBe("unclip_requests");
    for (const rule of edgeRules) {
      for (const query of queries(rule)) {
        expect(query).toContain(`FROM ${dataset}`);
        for (const [column] of query.matchAll(/\b(?:blob|double|index)\d+\b/g)) {
          expect(Object.keys(ANALYTICS_COLUMNS), `${rule.title} reads ${column}`).toContain(column);
        }
      }
    }
  });
});
