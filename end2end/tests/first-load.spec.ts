import { readFileSync, writeFileSync } from "node:fs";

import { expect, test, type Browser } from "@playwright/test";

import { ADMIN, signIn } from "../support/auth";
import { showNavigation, waitForHydration } from "../support/shell";

// What a browser downloads to show and hydrate each page on a first visit, with an empty cache:
// HTML, JS, WASM (the shell and the page's lazily loaded chunks), CSS and the data the page
// asks for, in bytes as they arrive (compressed as the server sends them). Sizes depend on the
// build, so they are checked only on the release build (`E2E_PROFILE=release`, as CI runs it);
// `make measure` prints them.
const release = process.env.E2E_PROFILE === "release";
const budget = JSON.parse(readFileSync("first-load.json", "utf8")) as {
  target: number;
  ceilings: Record<string, number>;
};

const SIGNED_OUT = ["/", "/sign-in", "/sign-up", "/forgot-password"];
const SIGNED_IN = [
  "/",
  "/chat",
  "/knowledge",
  "/assistants",
  "/schedules",
  "/notifications",
  "/admin/users",
  "/admin/roles",
  "/admin/models",
  "/admin/audit",
  "/admin/jobs",
  "/admin/mail",
  "/admin/assistants",
  "/admin/navigation",
];

type Load = { page: string; signedIn: boolean; requests: number; bytes: number };

/** Opens `path` in a fresh context (empty cache, no service worker) and counts its bytes. */
async function firstLoad(browser: Browser, path: string, cookies: object[]): Promise<Load> {
  const context = await browser.newContext({ serviceWorkers: "block" });
  await context.addCookies(cookies as never);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  let bytes = 0;
  let requests = 0;
  cdp.on("Network.loadingFinished", (event) => {
    bytes += event.encodedDataLength;
    requests += 1;
  });
  await page.goto(path);
  await waitForHydration(page);
  await page.waitForLoadState("networkidle");
  await context.close();
  return { page: path, signedIn: cookies.length > 0, requests, bytes };
}

function key(load: Load) {
  return `${load.signedIn ? "signed in" : "signed out"} ${load.page}`;
}

test("every page's first load stays within its ceiling", async ({ browser, page }, testInfo) => {
  test.skip(testInfo.project.name !== "desktop", "measured once, on the desktop project");
  test.setTimeout(180_000);
  const loads: Load[] = [];
  for (const path of SIGNED_OUT) loads.push(await firstLoad(browser, path, []));
  await signIn(page, ADMIN.email, ADMIN.name);
  const cookies = await page.context().cookies();
  for (const path of SIGNED_IN) loads.push(await firstLoad(browser, path, cookies));

  const report = loads.map((load) => ({
    page: key(load),
    requests: load.requests,
    kb: Math.round((load.bytes / 1024) * 10) / 10,
  }));
  console.log(
    report
      .map(
        (row) =>
          `${row.page.padEnd(32)} ${String(row.kb).padStart(7)} KB in ${row.requests} requests`,
      )
      .join("\n"),
  );
  if (process.env.FIRST_LOAD_REPORT) {
    writeFileSync(process.env.FIRST_LOAD_REPORT, JSON.stringify(report, null, 2));
  }
  if (!release) return;
  const ceilings = budget.ceilings;
  for (const row of report) {
    const ceiling = ceilings[row.page];
    expect(ceiling, `a ceiling for "${row.page}" in end2end/first-load.json`).toBeDefined();
    expect(row.kb, `first load of ${row.page} (target ${budget.target} KB)`).toBeLessThanOrEqual(
      ceiling,
    );
  }
});

test("an administration page's code is fetched when the page is first opened, and it works", async ({
  page,
  isMobile,
}) => {
  test.skip(!release, "the code is split into modules by the release build only");
  const fetched: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith(".wasm")) fetched.push(path);
  });
  await signIn(page, ADMIN.email, ADMIN.name);
  fetched.length = 0;
  await page.goto("/chat");
  await waitForHydration(page);
  await expect(page.getByLabel("Model")).toBeVisible();
  expect(fetched.filter((path) => path.includes("admin"))).toEqual([]);

  // Followed from the navigation, without a page load.
  await showNavigation(page, isMobile);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Users");
  expect(fetched.some((path) => path.includes("admin_users"))).toBe(true);
  await page.getByLabel("Search users").fill(ADMIN.email);
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByText("Showing 1–1 of 1")).toBeVisible();
});
