// The edge's log lines besides the per-request one: the same JSON shape ({time, level, msg,
// …fields}), which Workers Logs indexes field by field. An error becomes its message and stack.

export type LogLevel = "info" | "warn" | "error";

function fieldOf(value: unknown): unknown {
  return value instanceof Error ? { message: value.message, stack: value.stack } : value;
}

export function logEvent(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
  for (const [name, value] of Object.entries(fields)) line[name] = fieldOf(value);
  const text = JSON.stringify(line);
  if (level === "error") console.error(text);
  else console.log(text);
}
