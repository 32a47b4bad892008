// `npm run keys -- usage`: where usage is read from (UsageReader: the local state or a deployed
// Worker's admin route) and the table it prints, one line per key and UTC day.
import type { DailyUsage } from "@unclip/shared";
import type { StoredKey } from "./store.ts";

export interface UsageReader {
  /** The key's last `days` UTC days, today first. */
  usage(keyHash: string, days: number): Promise<DailyUsage[]>;
  close(): Promise<void>;
}

/** Units with at most 3 decimals (a 64×64 image is 0.0625 of a unit). */
const units = (n: number) => String(Math.round(n * 1000) / 1000);

export function usageTable(rows: { key: StoredKey; days: DailyUsage[] }[]): string {
  const lines = [["key", "day (UTC)", "units", "requests", "daily quota"]];
  for (const { key, days } of rows) {
    const name = key.record?.name ?? `sha256 ${key.hash.slice(0, 12)}`;
    const quota = key.record?.daily_quota;
    for (const day of days) {
      lines.push([
        name,
        day.day,
        units(day.units),
        String(day.requests),
        quota === undefined ? "-" : units(quota),
      ]);
    }
  }
  const widths = lines[0].map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  return lines
    .map((l) =>
      l
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
