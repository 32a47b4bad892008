// The playground in headless Chromium (Debian's `chromium`, driven by playwright-core): type a
// prompt, watch each picture come into focus (a partial image painted before the final one)
// and the progress bar move, pick an output format, see the images, ask for variations, scrub the
// interpolation slider; start from the bundle's example prompts, paint a mask over an image and
// send an edit; fit a phone-width screen. Saves screenshots to test-artifacts/.
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../scripts/stack.ts";
import { launchChromium, SKIP_BROWSER } from "./chromium.ts";

const edgeUrl = inject("edgeUrl");
const artifacts = resolve(REPO_ROOT, "test-artifacts");
/** The stack serves the tiny bundle (tests/globalSetup.ts). */
const examplePrompts: string[] = JSON.parse(
  readFileSync(resolve(REPO_ROOT, "models/tiny-test/manifest.json"), "utf8"),
).example_prompts;

describe.skipIf(SKIP_BROWSER)("playground in a real browser", () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
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
      // Every picture the page paints, in order: which image, partial or final, its format.
      const painted: string[] = [];
      (window as unknown as { painted: string[] }).painted = painted;
      document.addEventListener(
        "load",
        (event) => {
          const img = event.target as HTMLImageElement;
          if (img.tagName === "IMG" && img.dataset.kind && img.naturalWidth > 0) {
            painted.push(`${img.dataset.testid}:${img.dataset.kind}:${img.src.slice(5, 15)}`);
          }
        },
        true,
      );
    });
    await page.goto(`${edgeUrl}/`);
    await page.getByTestId("prompt").fill("three red triangles on a white background");
    await page.getByTestId("n").fill("4");
    await page.getByTestId("seed").fill(String(Math.floor(Math.random() * 1e9)));
    await page.getByTestId("generate").click();

    await expect.poll(() => page.getByTestId("image").count(), { timeout: 60_000 }).toBe(4);
    // Each figure is there from the start; its picture streams in until the final one.
    await expect
      .poll(() => page.locator("#images img[data-kind=final]").count(), { timeout: 60_000 })
      .toBe(4);
    // The bar reaches 1 in the same turn the last picture is set, but the recorder samples it
    // on the next animation frame, so wait for that frame rather than read it at once.
    const progressSeen = () =>
      page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    await expect.poll(async () => (await progressSeen()).at(-1), { timeout: 10_000 }).toBe(1);
    const seen = await progressSeen();
    expect(
      seen.some((v) => v > 0 && v < 1),
      `progress values seen: ${seen.join(", ")}`,
    ).toBe(true);
    const firstSrc = await page.getByTestId("image-0").first().getAttribute("src");
    expect(firstSrc).toMatch(/^data:image\/png;base64,/);
    // Each picture came into focus in place: a partial was painted before its final image.
    const painted = await page.evaluate(() => (window as unknown as { painted: string[] }).painted);
    const first = painted.filter((p) => p.startsWith("image-0:"));
    expect(first.indexOf("image-0:partial:image/png;")).toBeGreaterThanOrEqual(0);
    expect(first.indexOf("image-0:partial:image/png;")).toBeLessThan(
      first.indexOf("image-0:final:image/png;"),
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

    // The format picker: the next pictures stream as webp.
    await page.getByTestId("format").selectOption("webp");
    await page.getByTestId("n").fill("1");
    await page.getByTestId("generate").click();
    await expect
      .poll(() => page.getByTestId("image-0").first().getAttribute("data-kind"), {
        timeout: 60_000,
      })
      .toBe("final");
    expect(await page.getByTestId("image-0").first().getAttribute("src")).toMatch(
      /^data:image\/webp;base64,/,
    );

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, "playground.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("starts from the bundle's example prompts, paints a mask and sends an edit", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`${edgeUrl}/`);
    expect(examplePrompts.length).toBeGreaterThan(1);
    await expect.poll(() => page.locator(".example").allTextContents()).toEqual(examplePrompts);
    expect(await page.getByTestId("prompt").inputValue()).toBe(examplePrompts[0]);
    expect(await page.getByTestId("interp-a").inputValue()).toBe(examplePrompts[0]);
    expect(await page.getByTestId("interp-b").inputValue()).toBe(examplePrompts[1]);
    // No broken-image box before the first interpolation.
    expect(await page.getByTestId("interp-frame").isVisible()).toBe(false);

    await page.getByTestId("n").fill("1");
    await page.getByTestId("seed").fill(String(Math.floor(Math.random() * 1e9)));
    await page.getByTestId("example-1").click(); // one click: fills the prompt and generates
    expect(await page.getByTestId("prompt").inputValue()).toBe(examplePrompts[1]);
    const generated = page.locator("#images img[data-kind=final]");
    await expect.poll(() => generated.count(), { timeout: 60_000 }).toBe(1);

    await page.locator("#images").getByTestId("edit-0").click();
    const overlay = page.getByTestId("mask-canvas");
    await expect.poll(() => page.locator("#edit-image.empty").count()).toBe(0);
    expect(await page.getByTestId("edit-send").isDisabled()).toBe(true);
    // Paint a stroke across the middle of the image.
    const box = (await overlay.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.5);
    await page.mouse.down();
    for (const f of [0.45, 0.55, 0.65]) {
      await page.mouse.move(box.x + box.width * f, box.y + box.height * 0.5);
    }
    await page.mouse.up();
    await page.getByTestId("edit-prompt").fill(examplePrompts[0]);
    await page.getByTestId("edit-send").click();
    const edited = page.locator("#edits [data-testid=image-0]");
    await expect.poll(() => edited.count(), { timeout: 60_000 }).toBe(1);
    await expect
      .poll(() => edited.evaluate((img: HTMLImageElement) => img.naturalWidth), { timeout: 30_000 })
      .toBeGreaterThan(0);

    // Pixel by pixel: unpainted pixels equal the source, the painted ones changed.
    const comparison = await page.evaluate(() => {
      const source = document.getElementById("edit-image") as HTMLCanvasElement;
      const paint = document.getElementById("mask-overlay") as HTMLCanvasElement;
      const img = document.querySelector("#edits img") as HTMLImageElement;
      const side = source.width;
      const result = document.createElement("canvas");
      result.width = side;
      result.height = side;
      result.getContext("2d")!.drawImage(img, 0, 0, side, side);
      const read = (c: HTMLCanvasElement) =>
        c.getContext("2d")!.getImageData(0, 0, side, side).data;
      const [s, p, r] = [read(source), read(paint), read(result)];
      let keptMax = 0;
      let paintedSum = 0;
      let painted = 0;
      for (let i = 0; i < side * side; i++) {
        for (let c = 0; c < 3; c++) {
          const d = Math.abs(s[i * 4 + c] - r[i * 4 + c]);
          if (p[i * 4 + 3] === 0) keptMax = Math.max(keptMax, d);
          else if (p[i * 4 + 3] > 128) paintedSum += d;
        }
        if (p[i * 4 + 3] > 128) painted += 1;
      }
      return { side, keptMax, painted, paintedMean: paintedSum / (3 * painted) };
    });
    expect(comparison.painted).toBeGreaterThan(comparison.side); // a real stroke, not a dot
    expect(comparison.keptMax).toBeLessThanOrEqual(1); // PNG → canvas readback: exact or ±1
    expect(comparison.paintedMean).toBeGreaterThan(3);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, "playground-edit.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it("fits a 390 px phone screen without sideways scrolling", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await page.goto(`${edgeUrl}/`);
    await expect.poll(() => page.locator(".example").count()).toBe(examplePrompts.length);
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
      stage: document.getElementById("edit-stage")!.getBoundingClientRect().right,
    }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    expect(widths.stage).toBeLessThanOrEqual(widths.viewport);
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: resolve(artifacts, "playground-phone.png"), fullPage: true });
  });
});
