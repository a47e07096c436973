import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import {
  ADMIN,
  PASSWORD,
  accountMenu,
  linkIn,
  mailTo,
  rolesShown,
  signIn,
  signUp,
  submitSignUp,
  uniqueEmail,
} from "../support/auth";
import { waitForHydration } from "../support/shell";

test("an unverified account sees only the page that says what to do", async ({ page }) => {
  const email = uniqueEmail("waiting");
  await submitSignUp(page, email, "Wes Waiting");
  await expectAccessible(page);

  // Signing in before the link is used lands on the page that explains it.
  await page.goto("/sign-in");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/verify-email");
  await expect(page.getByText(`We sent a link to ${email}`)).toBeVisible();
  await expectAccessible(page);

  // Every other page sends it back here: it holds no role and reaches no tool.
  await page.goto("/chat");
  await expect(page).toHaveURL("/verify-email");
  expect(await rolesShown(page, "Wes Waiting")).not.toMatch(/staff|student|administrator/);
  await accountMenu(page, "Wes Waiting").click();

  // A new link so soon is refused with the reason; the first one still works here, in the
  // browser that is signed in, without the password.
  await page.getByRole("button", { name: "Send a new link" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "less than a minute ago" })).toBeVisible();
  const mail = await mailTo(email, "Confirm your email address");
  await page.goto(linkIn(mail, "/verify-email"));
  await waitForHydration(page);
  await expect(page.getByLabel("Password")).toHaveCount(0);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page).toHaveURL("/");
  expect(await rolesShown(page, "Wes Waiting")).toBe("Roles: staff");
});

test("a forgotten password is reset by mail and the old one stops working", async ({
  page,
  browser,
}) => {
  const email = uniqueEmail("forgetful");
  await signUp(page, email, "Fern Forgetful");

  const other = await browser.newContext();
  const stranger = await other.newPage();
  await stranger.goto("/sign-in");
  await waitForHydration(stranger);
  await stranger.getByRole("link", { name: "Forgot your password?" }).click();
  await expect(stranger).toHaveURL("/forgot-password");
  await waitForHydration(stranger);
  await stranger.getByLabel("Email").fill(email);
  await stranger.getByRole("button", { name: "Send the link" }).click();
  await expect(stranger.getByRole("status")).toContainText(`If an account uses ${email}`);
  await expectAccessible(stranger);

  const mail = await mailTo(email, "Reset your AI Studio password");
  await stranger.goto(linkIn(mail, "/reset-password"));
  await waitForHydration(stranger);
  await expectAccessible(stranger);
  await stranger.getByLabel("Password").fill("a brand new passphrase");
  await stranger.getByRole("button", { name: "Save the new password" }).click();
  await expect(accountMenu(stranger, "Fern Forgetful")).toBeVisible();

  // The first browser was signed out by the reset.
  await page.reload();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  await page.goto("/sign-in");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("The email or password is not right.");
  await signIn(page, email, "Fern Forgetful", "a brand new passphrase");
  await other.close();
});

test("an administrator invites someone, who joins with the roles chosen", async ({
  page,
  browser,
}) => {
  const email = uniqueEmail("invited");
  await signIn(page, ADMIN.email, ADMIN.name);
  await page.goto("/admin/users");
  await waitForHydration(page);
  await page.getByText("Invite someone").click();
  await page.getByLabel("Email", { exact: true }).fill(email);
  const roles = page.getByRole("group", { name: "Roles once they accept" });
  await roles.getByLabel("staff").uncheck();
  await roles.getByLabel("student").check();
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText(`Invitation sent to ${email}.`)).toBeVisible();
  await expectAccessible(page);

  const mail = await mailTo(email, "invited you to AI Studio");
  const guest = await (await browser.newContext()).newPage();
  await guest.goto(linkIn(mail, "/invitation"));
  await waitForHydration(guest);
  await expect(guest.getByText(`Your account will be ${email}`)).toBeVisible();
  await expectAccessible(guest);
  await guest.getByLabel("Name").fill("Ivy Invited");
  await guest.getByLabel("Password").fill(PASSWORD);
  await guest.getByRole("button", { name: "Create my account" }).click();
  await expect(accountMenu(guest, "Ivy Invited")).toBeVisible();
  expect(await rolesShown(guest, "Ivy Invited")).toBe("Roles: student");
  await guest.context().close();
});
