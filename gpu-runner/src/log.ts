// Structured logs: one JSON object per line on stdout ({time, level, msg, ...fields}), the shape
// Kubernetes log shippers (Fluent Bit, Vector, Loki's promtail) and Workers Logs parse into
// fields without a pattern. Free text would need a parser per message.

export type LogLevel = "info" | "warn" | "error";

export type LogRecord = { msg: string; level?: LogLevel } & Record<string, unknown>;

/** Where log lines go; tests pass an array's push. */
export type LogSink = (line: string) => void;

export const stdoutSink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** Writes one record as one line; `time` first so the lines sort and read in order. */
export function writeLog(sink: LogSink, { msg, level = "info", ...fields }: LogRecord): void {
  sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}

/** Logs to stdout (the process's own life: start, ready, draining). */
export function log(record: LogRecord): void {
  writeLog(stdoutSink, record);
}
