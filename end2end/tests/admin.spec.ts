import { expect, test, type Browser } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, rolesShown, signIn, signUp, uniqueEmail } from "../support/auth";
import { showNavigation, waitForHydration } from "../support/shell";

/** A page signed in as the administrator, in a browser context of its own. */
async function adminPage(browser: Browser, baseURL: string | undefined) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  await signIn(page, ADMIN.email, ADMIN.name);
  return page;
}

test("staff see no admin links and are refused admin pages", async ({ page, isMobile }) => {
  await signUp(page, uniqueEmail("staff"), "Stan Staff");
  await showNavigation(page, isMobile);
  await expect(page.getByRole("link", { name: "Home" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Users" })).toHaveCount(0);

  for (const path of ["/admin/users", "/admin/roles", "/admin/models", "/admin/audit"]) {
    const response = await page.goto(path);
    expect(response!.status(), path).toBe(403);
    await expect(page.getByRole("alert")).toContainText("you don't have access to this");
  }
  await expectAccessible(page);
});

test("signed out, admin pages ask for sign-in", async ({ page }) => {
  await page.goto("/admin/users");
  await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent("/admin/users")}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
});

test("an administrator grants a role and it applies on the user's next request", async ({
  page,
  browser,
  baseURL,
  isMobile,
}) => {
  const email = uniqueEmail("promoted");
  await signUp(page, email, "Pat Promoted");

  const admin = await adminPage(browser, baseURL);
  await admin.goto("/admin/users");
  await waitForHydration(admin);
  await admin.getByLabel("Search users").fill(email);
  await admin.getByRole("button", { name: "Search" }).click();
  await expect(admin.getByText("Showing 1–1 of 1")).toBeVisible();
  const row = admin.getByRole("row", { name: /Pat Promoted/ });
  await expectAccessible(admin);

  await row.getByRole("button", { name: "Edit roles of Pat Promoted" }).click();
  await row.getByRole("checkbox", { name: "administrator" }).check();
  await row.getByRole("button", { name: "Save roles" }).click();
  await expect(
    admin.getByRole("status").filter({ hasText: "Roles of Pat Promoted saved." }),
  ).toBeVisible();
  await expect(admin.getByRole("row", { name: /Pat Promoted/ })).toContainText(
    "administrator, staff",
  );

  // The promoted user's very next request sees the new grant.
  await page.reload();
  await waitForHydration(page);
  expect(await rolesShown(page, "Pat Promoted")).toBe("Roles: administrator, staff");
  await showNavigation(page, isMobile);
  await expect(page.getByRole("link", { name: "Users" })).toBeVisible();
  const users = await page.goto("/admin/users");
  expect(users!.status()).toBe(200);
  await admin.context().close();
});

test("disabling a user signs them out at once", async ({ page, browser, baseURL }) => {
  const email = uniqueEmail("disabled");
  await signUp(page, email, "Dana Disabled");

  const admin = await adminPage(browser, baseURL);
  await admin.goto("/admin/users");
  await waitForHydration(admin);
  await admin.getByLabel("Search users").fill(email);
  await admin.getByRole("button", { name: "Search" }).click();
  await expect(admin.getByText("Showing 1–1 of 1")).toBeVisible();
  await admin.getByRole("button", { name: "Disable Dana Disabled" }).click();
  await expect(
    admin.getByRole("status").filter({ hasText: "Dana Disabled is disabled and signed out." }),
  ).toBeVisible();

  await page.reload();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  await admin.context().close();
});

test("the roles page and the audit log work for administrators", async ({ browser, baseURL }) => {
  const admin = await adminPage(browser, baseURL);
  await admin.goto("/admin/roles");
  await waitForHydration(admin);
  await expect(
    admin.getByRole("checkbox", { name: "Administration for administrator" }),
  ).toBeChecked();
  await expect(
    admin.getByRole("checkbox", { name: "Administration for student" }),
  ).not.toBeChecked();
  await expectAccessible(admin);

  const name = `Helpers ${Date.now()}`;
  await admin.getByLabel("Name", { exact: true }).fill(name);
  // By keyboard: the grant matrix is wider than the screen and scrolls sideways.
  await admin.getByLabel("Name", { exact: true }).press("Enter");
  await expect(admin.getByRole("status")).toHaveText(`Role ${name} created.`);
  await admin.getByRole("checkbox", { name: `Ideas for ${name}` }).focus();
  await admin.keyboard.press("Space");
  await expect(admin.getByRole("status")).toHaveText(`Tools of ${name} saved.`);
  await expect(admin.getByRole("checkbox", { name: `Ideas for ${name}` })).toBeChecked();

  await admin.goto("/admin/audit");
  await waitForHydration(admin);
  // Who did what to which named thing, in words; the raw entry behind "Details".
  const change = admin.getByRole("row", { name: `changed the tools of the role ${name}` });
  await expect(change).toContainText(ADMIN.name);
  await change.getByText("Details").click();
  await expect(change).toContainText("admin.role.tools_changed");
  await admin.getByLabel("Show").selectOption({ label: "Sign-ins" });
  await expect(admin.getByRole("cell", { name: "signed in", exact: true }).first()).toBeVisible();
  await expectAccessible(admin);
  await admin.context().close();
});
