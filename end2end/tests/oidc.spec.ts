import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { accountMenu, rolesShown } from "../support/auth";
import { waitForHydration } from "../support/shell";

// The provider (end2end/support/oidc-provider.mjs) approves at once and says the user is
// Olive Provider <oidc.user@school.example>.
const OLIVE = "Olive Provider";

test("signing in with the provider button and out again through the provider", async ({ page }) => {
  await page.goto("/sign-in");
  await waitForHydration(page);
  await expectAccessible(page);
  await page.getByRole("link", { name: "Sign in with Test provider" }).click();

  await expect(page).toHaveURL("/");
  expect(await rolesShown(page, OLIVE)).toBe("Roles: staff");
  await expect(page.locator(".user-email")).toHaveText("oidc.user@school.example");
  await expectAccessible(page);

  // Sign-out passes through the provider's end-session endpoint and comes back here.
  const toProvider = page.waitForRequest(/\/endsession\?/);
  await page.getByRole("button", { name: "Sign out" }).click();
  const request = await toProvider;
  expect(new URL(request.url()).searchParams.get("post_logout_redirect_uri")).toMatch(/\/sign-in$/);
  await expect(page).toHaveURL("/sign-in");
  await expect(accountMenu(page, OLIVE)).toHaveCount(0);
});

test("a failed provider sign-in explains itself on the sign-in page", async ({ page }) => {
  await page.goto("/auth/oidc/no-such-provider/start");
  await expect(page).toHaveURL("/sign-in?error=unknown-provider");
  await expect(page.getByRole("alert").first()).toHaveText(
    "That sign-in option does not exist here. Choose one below.",
  );
  await waitForHydration(page);
  await expectAccessible(page);

  // A callback this browser never started (a forged or replayed link).
  await page.goto("/auth/oidc/test/callback?code=stolen&state=guessed");
  await expect(page).toHaveURL("/sign-in?error=expired");
  await expect(page.getByRole("alert").first()).toContainText("expired or was already used");
  await expect(page.getByRole("link", { name: "Sign in with Test provider" })).toBeVisible();
});
