// The metric names a PromQL expression reads, so a test can hold alert rules and dashboard
// panels to the names the runner really exports (a renamed metric otherwise leaves an alert
// that can never fire and a panel that shows "No data", both silently).
// Not a PromQL parser: strings, label matchers, ranges and grouping clauses are blanked out,
// then every identifier that is not a function call or a keyword is a metric name.

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"]);

export function metricNamesIn(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\boffset\s+-?\w+/g, " ")
    .replace(/\$\w+/g, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (rest.startsWith("(") || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return names;
}

/** Grafana's `label_values(metric{…}, label)` names one metric: its first argument. */
export function metricNamesInGrafanaQuery(query: string): Set<string> {
  const labelValues = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/s.exec(query);
  return metricNamesIn(labelValues ? labelValues[1] : query);
}
