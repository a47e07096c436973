import { expect, test } from "@playwright/test";

import { waitForHydration } from "../support/shell";

test("health reports the database ready", async ({ request }) => {
  const live = await request.get("/healthz");
  expect(live.status()).toBe(200);

  const ready = await request.get("/health");
  expect(ready.status()).toBe(200);
  const report = await ready.json();
  expect(report.status).toBe("ok");
  expect(report.checks).toContainEqual({ name: "database", ok: true });
});

test("responses carry security headers and a request id", async ({ request }) => {
  const response = await request.get("/healthz", { headers: { "x-request-id": "trace-me-123" } });
  const headers = response.headers();
  expect(headers["x-request-id"]).toBe("trace-me-123");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");

  const minted = await request.get("/healthz", {
    headers: { "x-request-id": "bad id with spaces" },
  });
  expect(minted.headers()["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
});

test("the manifest makes the app installable", async ({ request }) => {
  const response = await request.get("/manifest.webmanifest");
  expect(response.status()).toBe(200);
  expect(response.headers()["content-type"]).toContain("application/manifest+json");
  const manifest = await response.json();
  expect(manifest).toMatchObject({ name: "AI Studio", start_url: "/", display: "standalone" });
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);

  const icons: { src: string; sizes: string; purpose: string }[] = manifest.icons;
  for (const [sizes, purpose] of [
    ["192x192", "any"],
    ["512x512", "any"],
    ["512x512", "maskable"],
  ]) {
    const icon = icons.find((i) => i.sizes === sizes && i.purpose === purpose);
    expect(icon, `${sizes} ${purpose} icon`).toBeTruthy();
    const image = await request.get(icon!.src);
    expect(image.status()).toBe(200);
    expect(image.headers()["content-type"]).toBe("image/png");
  }
});

test("the service worker is served, registered, and precaches the bundles", async ({
  page,
  request,
}) => {
  const script = await request.get("/sw.js");
  expect(script.status()).toBe(200);
  expect(script.headers()["content-type"]).toContain("javascript");
  expect(script.headers()["cache-control"]).toBe("no-cache");
  const source = await script.text();
  expect(source).toMatch(/const CACHE = `aistudio-\$\{VERSION\}`/);
  expect(source).toMatch(/"\/pkg\/aistudio\.[^"]+\.wasm"/);

  await page.goto("/");
  await waitForHydration(page);
  const active = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return registration.active?.scriptURL;
  });
  expect(active).toMatch(/\/sw\.js$/);
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith("aistudio-"))!);
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  expect(cached).toContain("/offline.html");
  expect(cached.some((path) => path.endsWith(".wasm"))).toBe(true);
});

test("metrics count requests by route and report the queue", async ({ request }) => {
  await request.get("/healthz");
  const response = await request.get("/metrics");
  expect(response.status()).toBe(200);
  const text = await response.text();
  expect(text).toMatch(/http_requests_total\{[^}]*route="\/healthz"[^}]*\} \d+/);
  expect(text).toContain("http_request_duration_seconds_bucket");
  expect(text).toMatch(/jobs_queue_up 1/);
});
