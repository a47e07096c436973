import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { chooseTheme, menuButton, showNavigation, waitForHydration } from "../support/shell";

test("the home page is rendered on the server, before any WASM runs", async ({ request }) => {
  const response = await request.get("/");
  expect(response.status()).toBe(200);
  const html = await response.text();
  expect(html).toContain("<h1>Welcome to AI Studio</h1>");
  expect(html).not.toContain("data-hydrated");

  // Inline scripts run only with this response's nonce.
  const csp = response.headers()["content-security-policy"];
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce, csp).toBeTruthy();
  expect(html).toContain(`nonce="${nonce}"`);
  expect(csp).toContain("'wasm-unsafe-eval'");
  expect(csp).not.toContain("unsafe-inline");
});

test("hydration makes the theme control work", async ({ page, isMobile }) => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });

  await page.goto("/");
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome to AI Studio");
  await expectAccessible(page);

  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await chooseTheme(page, isMobile, "Dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  expect(await background()).toBe("rgb(20, 20, 27)");
  await chooseTheme(page, false, "Light");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  expect(await background()).toBe("rgb(247, 247, 251)");
  expect(errors, "no script or CSP errors").toEqual([]);
});

test("the system theme follows the operating system", async ({ page }) => {
  await page.emulateMedia({ colorScheme: "dark" });
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "system");
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
    "rgb(20, 20, 27)",
  );
  await expectAccessible(page);
  await page.emulateMedia({ colorScheme: "light" });
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
    "rgb(247, 247, 251)",
  );
});

test("the chosen theme survives a reload and is rendered by the server", async ({
  page,
  isMobile,
}) => {
  await page.goto("/");
  await waitForHydration(page);
  await chooseTheme(page, isMobile, "Dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");

  const response = await page.reload();
  const html = await response!.text();
  expect(html).toMatch(/<html[^>]*data-theme="dark"/);
  await waitForHydration(page);
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await showNavigation(page, isMobile);
  await expect(page.getByLabel("Theme")).toHaveValue("dark");
  await expectAccessible(page);
});

test("an unknown address shows the not-found page with status 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response!.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
  await waitForHydration(page);
  await expectAccessible(page);

  await page.getByRole("link", { name: "Go to the home page" }).click();
  await expect(page).toHaveURL("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Welcome to AI Studio");
});

test.describe("navigation", () => {
  test("the drawer opens, traps the page, and closes on a phone", async ({ page, isMobile }) => {
    test.skip(!isMobile, "phones only");
    await page.goto("/");
    await waitForHydration(page);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav).toBeHidden();

    await menuButton(page).click();
    await expect(nav).toBeVisible();
    await expect(menuButton(page)).toHaveAttribute("aria-expanded", "true");
    await expect(page.getByRole("button", { name: "Close navigation" })).toBeFocused();
    await expectAccessible(page);

    await page.keyboard.press("Escape");
    await expect(nav).toBeHidden();
    await expect(menuButton(page)).toBeFocused();
    await expect(menuButton(page)).toHaveAttribute("aria-expanded", "false");

    await menuButton(page).click();
    await expect(nav).toBeVisible();
    await page.getByRole("button", { name: "Close navigation" }).click();
    await expect(nav).toBeHidden();

    // Tapping outside the drawer closes it too.
    await menuButton(page).click();
    await expect(nav).toBeVisible();
    const viewport = page.viewportSize()!;
    await page.mouse.click(viewport.width - 10, viewport.height / 2);
    await expect(nav).toBeHidden();

    // So does following a link in it.
    await menuButton(page).click();
    await nav.getByRole("link", { name: "Home" }).click();
    await expect(nav).toBeHidden();
  });

  test("the sidebar is always shown on a desktop", async ({ page, isMobile }) => {
    test.skip(isMobile, "desktops only");
    await page.goto("/");
    await waitForHydration(page);
    await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
    await expect(menuButton(page)).toBeHidden();
    await expect(page.getByRole("link", { name: "Home" })).toHaveAttribute("aria-current", "page");
    await expectAccessible(page);
  });
});
