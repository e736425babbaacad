import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rawClient, unary } from "./helpers.js";

/*
 * The inspector in a real headless browser (Debian's chromium, launched by playwright-core; no
 * browser is downloaded): a real `dspex-bridge serve --inspect 0` process, a real Python writer,
 * the page as a user sees it.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const PACKAGE = join(import.meta.dirname, "..");
const RESULTS = join(PACKAGE, "test-results");
const README_SCREENSHOT = join(PACKAGE, "..", "..", "apps", "example", "docs", "inspector.png");
const SESSION = "optimizer-run";

/** A child's stdout, line by line, awaited one at a time. */
function lines(child: ChildProcessWithoutNullStreams, what: string) {
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queue.push(line);
  });
  return (timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const queued = queue.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(
        () => reject(new Error(`${what}: no line within ${timeoutMs} ms; stderr: ${stderr}`)),
        timeoutMs,
      );
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
}

let bridge: ChildProcessWithoutNullStreams;
let writer: ChildProcessWithoutNullStreams;
let nextWriterLine: () => Promise<string>;
let browser: Browser;
let inspectorUrl: string;
let bridgeAddress: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/setup-chromium.sh (as root it installs Debian's chromium with apt)`,
    );
  }
  bridge = spawn(
    process.execPath,
    [join(PACKAGE, "bin", "dspex-bridge.js"), "serve", "--port", "0", "--inspect", "0"],
    { stdio: ["pipe", "pipe", "pipe"] },
  ) as unknown as ChildProcessWithoutNullStreams;
  const bridgeLine = lines(bridge, "dspex-bridge");
  const address = (await bridgeLine()).replace("dspex-bridge listening on ", "");
  bridgeAddress = address;
  inspectorUrl = (await bridgeLine()).replace("dspex-bridge inspector on ", "");
  expect(inspectorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  writer = spawn(
    "/usr/bin/python3",
    [join(PACKAGE, "test", "fixtures", "inspector_writer.py"), address, SESSION],
    { env: { ...process.env, PYTHONPATH: join(PACKAGE, "python") }, stdio: "pipe" },
  );
  nextWriterLine = lines(writer, "python writer");
  expect(await nextWriterLine()).toBe("ready");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright gives each launch a fresh profile directory (--user-data-dir) of its own.
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
}, 60_000);

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  writer?.stdin.end();
  writer?.kill();
  bridge?.kill("SIGTERM");
});

/** Script errors of every page; each test ends by checking there were none. */
const pageErrors: string[] = [];

async function openPage(hash: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await page.goto(`${inspectorUrl}${hash}`);
  await page.waitForSelector("body[data-loaded=true]", { timeout: 10_000 });
  return page;
}

describe("the inspector in a headless browser", () => {
  it("shows a session's variables; a write from Python appears within a second and the chart gains a point", async () => {
    const page = await openPage(`#/s/${SESSION}`);
    const paint = await page.evaluate(() => {
      const entry = (name: string) => performance.getEntriesByName(name)[0]?.startTime;
      return {
        firstPaint: entry("first-paint"),
        firstContentfulPaint: entry("first-contentful-paint"),
      };
    });
    expect(paint.firstContentfulPaint).toBeGreaterThan(0);

    const names = await page.$$eval("#variables tr[data-variable]", (rows) =>
      rows.map((row) => row.getAttribute("data-variable")),
    );
    expect(names).toEqual(["temperature", "score", "max_tokens", "model", "instruction"]);
    const score = page.locator('#variables tr[data-variable="score"]');
    await expect(score.locator("td.value").textContent()).resolves.toBe("0.69");
    await expect(score.locator("td.version").textContent()).resolves.toBe("7");
    await expect(score.locator("td.source").textContent()).resolves.toBe("python");
    const scoreChart = page.locator('.chart[data-variable="score"]');
    await expect(scoreChart.getAttribute("data-points")).resolves.toBe("7");
    // One chart per numeric variable; choice and string variables have none.
    const charted = await page.$$eval(".chart[data-variable]", (charts) =>
      charts.map((chart) => chart.getAttribute("data-variable")),
    );
    expect(charted).toEqual(["temperature", "score", "max_tokens"]);
    expect(await page.locator(".chart canvas").count()).toBe(3);

    writer.stdin.write(`${JSON.stringify({ name: "score", value: 0.83 })}\n`);
    const written = JSON.parse(await nextWriterLine()) as { startedAt: number; version: number };
    expect(written.version).toBe(8);
    await page.waitForSelector('#variables tr[data-variable="score"][data-version="8"]', {
      timeout: 1_000,
    });
    const shownAt = Number(await score.getAttribute("data-updated-at"));
    const delayMs = shownAt - written.startedAt;
    expect(delayMs).toBeLessThan(1_000);
    await expect(score.locator("td.value").textContent()).resolves.toBe("0.83");
    await expect(scoreChart.getAttribute("data-points")).resolves.toBe("8");

    mkdirSync(RESULTS, { recursive: true });
    const screenshot = join(RESULTS, "inspector.png");
    await page.waitForTimeout(1_300); // the row's highlight fades before the picture is taken
    await page.screenshot({ path: screenshot, fullPage: true });
    // The README's picture is refreshed on request, so a test run leaves the tree clean.
    if (process.env.DSPEX_UPDATE_SCREENSHOT === "1") copyFileSync(screenshot, README_SCREENSHOT);
    const timings = {
      firstPaintMs: paint.firstPaint,
      firstContentfulPaintMs: paint.firstContentfulPaint,
      writeToPageMs: delayMs,
    };
    writeFileSync(join(RESULTS, "inspector-timings.json"), `${JSON.stringify(timings, null, 2)}\n`);
    console.log(
      `inspector: first contentful paint ${paint.firstContentfulPaint?.toFixed(0)} ms; a Python write appeared on the page ${delayMs.toFixed(0)} ms after it was sent`,
    );
    await page.close();
  }, 30_000);

  it("a link to one variable shows its chart and its history, newest first", async () => {
    const page = await openPage(`#/s/${SESSION}/v/temperature`);
    const versions = await page.$$eval("#history-table tr[data-version]", (rows) =>
      rows.map((row) => Number(row.getAttribute("data-version"))),
    );
    expect(versions).toEqual([7, 6, 5, 4, 3, 2, 1]);
    const charted = await page.$$eval(".chart[data-variable]", (charts) =>
      charts.map((chart) => [
        chart.getAttribute("data-variable"),
        chart.getAttribute("data-points"),
      ]),
    );
    expect(charted).toEqual([["temperature", "7"]]);
    expect(await page.locator("#crumbs").textContent()).toBe(`Sessions / ${SESSION} / temperature`);
    await page.close();
  }, 30_000);

  it("the sessions list follows sessions as they come and go, without a reload", async () => {
    const page = await browser.newPage();
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(inspectorUrl);
    await page.waitForSelector(`#sessions tr[data-session="${SESSION}"]`, { timeout: 10_000 });
    const client = rawClient(bridgeAddress);
    try {
      const later = "arrived-later";
      expect((await unary(client, "InitializeSession", { session_id: later })).ok).toBe(true);
      const started = Date.now();
      await page.waitForSelector(`#sessions tr[data-session="${later}"]`, { timeout: 5_000 });
      // Polled every 2 s: at most one period, plus a round trip.
      expect(Date.now() - started).toBeLessThan(3_500);
      expect((await unary(client, "CleanupSession", { session_id: later, force: true })).ok).toBe(
        true,
      );
      await page.waitForSelector(`#sessions tr[data-session="${later}"]`, {
        state: "detached",
        timeout: 5_000,
      });
      expect(await page.locator(`#sessions tr[data-session="${SESSION}"]`).count()).toBe(1);
    } finally {
      client.close();
      await page.close();
    }
  }, 30_000);

  it("the sessions list links to each session", async () => {
    const page = await browser.newPage();
    await page.goto(inspectorUrl);
    await page.waitForSelector(`#sessions tr[data-session="${SESSION}"]`, { timeout: 10_000 });
    await page.click(`#sessions tr[data-session="${SESSION}"] a`);
    await page.waitForSelector('#variables tr[data-variable="score"]', { timeout: 10_000 });
    expect(new URL(page.url()).hash).toBe(`#/s/${SESSION}`);
    await page.close();
  }, 30_000);
});
