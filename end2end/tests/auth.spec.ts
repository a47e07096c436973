import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import {
  PASSWORD,
  accountMenu,
  mailTo,
  rolesShown,
  signIn,
  signUp,
  submitSignUp,
  uniqueEmail,
} from "../support/auth";
import { waitForHydration } from "../support/shell";

test("a new account signs up, confirms its address from the mail and lands as staff", async ({
  page,
}) => {
  await page.goto("/sign-up");
  await waitForHydration(page);
  await expectAccessible(page);
  await signUp(page, uniqueEmail("teacher"), "Tess Teacher");
  await expect(page).toHaveURL("/");
  expect(await rolesShown(page, "Tess Teacher")).toBe("Roles: staff");
  await expectAccessible(page);
});

test("an all-digits email signs up as a student", async ({ page }) => {
  const email = `${Date.now()}${Math.floor(Math.random() * 1000)}@school.example`;
  await signUp(page, email, "Sam Student");
  expect(await rolesShown(page, "Sam Student")).toBe("Roles: student");
});

test("signing out ends the session and signing in starts a new one", async ({ page }) => {
  const email = uniqueEmail("returning");
  await signUp(page, email, "Rita Returning");
  await accountMenu(page, "Rita Returning").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL("/sign-in");
  await page.goto("/");
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
  await expect(accountMenu(page, "Rita Returning")).toHaveCount(0);

  await signIn(page, email, "Rita Returning");
  await page.reload();
  await expect(accountMenu(page, "Rita Returning")).toBeVisible();
});

test("a wrong password or unknown email gets the same message", async ({ page }) => {
  const email = uniqueEmail("careful");
  await signUp(page, email, "Cara Careful");
  await page.context().clearCookies();

  for (const [tryEmail, tryPassword] of [
    [email, "not the right password"],
    [uniqueEmail("nobody"), PASSWORD],
  ]) {
    await page.goto("/sign-in");
    await waitForHydration(page);
    await page.getByLabel("Email").fill(tryEmail);
    await page.getByLabel("Password").fill(tryPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("The email or password is not right.");
  }
  await expectAccessible(page);
});

test("signing up with a taken address answers alike and tells the owner", async ({ page }) => {
  const email = uniqueEmail("dupe");
  await signUp(page, email, "Dee Dupe");
  await page.context().clearCookies();

  // The form says the same as for a new address: it does not reveal who has an account.
  await submitSignUp(page, email.toUpperCase(), "Dee Again");
  const notice = await mailTo(email, "Someone tried to create an AI Studio account");
  expect(notice.text).toContain("Nothing was changed");
});

test("bad sign-up input gets a clear message", async ({ page }) => {
  await page.goto("/sign-up");
  await waitForHydration(page);
  await page.getByLabel("Name").fill("Shorty");
  await page.getByLabel("Email").fill(uniqueEmail("short"));
  await page.getByLabel("Password").fill("short pass");
  // The browser's own check stops a too-short password; the server's message stands behind it.
  await page.getByLabel("Password").evaluate((input) => input.removeAttribute("minlength"));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("alert")).toHaveText("Use at least 12 characters.");
});

test("the session cookie is HttpOnly, Secure and SameSite=Lax", async ({ page }) => {
  await signUp(page, uniqueEmail("cookie"), "Cody Cookie");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "__Host-aistudio-session");
  expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
});

test("state-changing requests from another origin are refused", async ({ request }) => {
  const forged = await request.post("/api/auth/sign-in", {
    headers: {
      origin: "https://evil.example",
      "content-type": "application/x-www-form-urlencoded",
    },
    data: "email=a%40b.org&password=whatever12345",
  });
  expect(forged.status()).toBe(403);

  const ours = await request.post("/api/auth/sign-in", {
    headers: {
      origin: new URL(test.info().project.use.baseURL!).origin,
      "content-type": "application/x-www-form-urlencoded",
    },
    data: "email=a%40b.org&password=whatever12345",
  });
  expect(ours.status()).not.toBe(403);
});

test("signed in, the theme is chosen in the account menu", async ({ page }) => {
  await signUp(page, uniqueEmail("themer"), "Theo Themer");
  await accountMenu(page, "Theo Themer").click();
  await page.locator(".user-menu-panel").getByLabel("Theme").selectOption({ label: "Dark" });
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  // One theme control, not a second one in the sidebar.
  await expect(page.getByLabel("Theme")).toHaveCount(1);
  await expectAccessible(page);
});
