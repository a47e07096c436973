import { expect, test as setup } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, PASSWORD, rolesShown, setupLink } from "../support/auth";
import { waitForHydration } from "../support/shell";

// Runs once, before every other project, on the empty database the test server starts with:
// the server printed a one-time setup link, and only it makes the first administrator.
setup("the setup link the server printed creates the first administrator", async ({ page }) => {
  const link = await setupLink();
  await page.goto(link);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { name: "Set up AI Studio" })).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel("Name").fill(ADMIN.name);
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create the administrator" }).click();
  await expect(page).toHaveURL("/admin/users");
  expect(await rolesShown(page, ADMIN.name)).toContain("administrator");

  // The link worked once.
  await page.goto(link);
  await waitForHydration(page);
  await page.getByLabel("Name").fill("Second");
  await page.getByLabel("Email").fill("second.admin@school.example");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create the administrator" }).click();
  await expect(page.getByRole("alert")).toContainText("has expired, was used");
});
