import { expect, type Page } from "@playwright/test";

/** Waits until the WASM client has hydrated the server-rendered page. */
export async function waitForHydration(page: Page) {
  // Debug WASM bundles are large: on a loaded 2-core machine compiling one takes seconds.
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1, { timeout: 30_000 });
}

/** The navigation menu button, shown on narrow screens only. */
export function menuButton(page: Page) {
  return page.getByRole("button", { name: "Open navigation" });
}

/** Makes the navigation visible: opens the drawer on a phone, nothing to do on a desktop. */
export async function showNavigation(page: Page, isMobile: boolean) {
  if (isMobile) {
    await menuButton(page).click();
    await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  }
}

/** Picks a theme with the picker in the navigation. */
export async function chooseTheme(
  page: Page,
  isMobile: boolean,
  theme: "System" | "Light" | "Dark",
) {
  await showNavigation(page, isMobile);
  await page.getByLabel("Theme").selectOption({ label: theme });
}
