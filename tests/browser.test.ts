// The playground in headless Chromium (Debian's `chromium`, driven by playwright-core): type a
// prompt, watch the progress bar move, see the images, ask for variations, scrub the
// interpolation slider. Saves a screenshot to test-artifacts/playground.png.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../scripts/stack.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const edgeUrl = inject("edgeUrl");

describe.skipIf(process.env.UNCLIP_SKIP_BROWSER === "1")("playground in a real browser", () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `No Chromium at ${CHROMIUM}: apt-get install chromium (or UNCLIP_SKIP_BROWSER=1)`,
      );
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(async () => browser?.close());

  it("generates with a moving progress bar, shows variations and scrubs an interpolation", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // Record every distinct value the progress bar takes, at frame rate.
    await page.addInitScript(() => {
      const seen: number[] = [];
      (window as unknown as { progressSeen: number[] }).progressSeen = seen;
      const tick = () => {
        const bar = document.getElementById("progress") as HTMLProgressElement | null;
        if (bar && seen[seen.length - 1] !== bar.value) seen.push(bar.value);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await page.goto(`${edgeUrl}/`);
    await page.getByTestId("prompt").fill("three red triangles on a white background");
    await page.getByTestId("n").fill("4");
    await page.getByTestId("seed").fill(String(Math.floor(Math.random() * 1e9)));
    await page.getByTestId("generate").click();

    await expect.poll(() => page.getByTestId("image").count(), { timeout: 60_000 }).toBe(4);
    const seen = await page.evaluate(
      () => (window as unknown as { progressSeen: number[] }).progressSeen,
    );
    expect(
      seen.some((v) => v > 0 && v < 1),
      `progress values seen: ${seen.join(", ")}`,
    ).toBe(true);
    expect(seen[seen.length - 1]).toBe(1);
    const firstSrc = await page.getByTestId("image-0").first().getAttribute("src");
    expect(firstSrc).toMatch(
      /\/v1\/images\/[0-9a-f]{64}\/0\.png\?expires=\d+&signature=[0-9a-f]{64}$/,
    );
    const firstImage = page.getByTestId("image-0").first();
    await expect
      .poll(() => firstImage.evaluate((img: HTMLImageElement) => img.naturalWidth))
      .toBeGreaterThan(0);

    await page.getByTestId("variations-0").first().click();
    await expect
      .poll(() => page.locator("#variations [data-testid=image]").count(), { timeout: 60_000 })
      .toBeGreaterThan(0);

    await page.getByTestId("interp-frames").fill("3");
    await page.getByTestId("interpolate").click();
    const slider = page.getByTestId("interp-slider");
    await expect.poll(() => slider.isEnabled(), { timeout: 60_000 }).toBe(true);
    const frame = page.getByTestId("interp-frame");
    const before = await frame.getAttribute("src");
    await slider.fill("2");
    await expect.poll(() => frame.getAttribute("src")).not.toBe(before);

    const artifacts = resolve(REPO_ROOT, "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, "playground.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
