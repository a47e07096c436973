import { expect, type Page } from "@playwright/test";

import { waitForHydration } from "./shell";

/** The administrator the setup project creates on the empty database. */
export const ADMIN = { email: "first.admin@school.example", name: "First Admin" };

/** A password that satisfies the rules. */
export const PASSWORD = "correct horse battery staple";

/** An email no other test uses. */
export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@school.example`;
}

/** Signs up through the form and waits until the new account is signed in. */
export async function signUp(page: Page, email: string, name: string) {
  await page.goto("/sign-up");
  await waitForHydration(page);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(accountMenu(page, name)).toBeVisible();
}

/** Signs in through the form and waits until signed in. */
export async function signIn(page: Page, email: string, name: string, password = PASSWORD) {
  await page.goto("/sign-in");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(accountMenu(page, name)).toBeVisible();
}

/** The signed-in user's menu button in the top bar. */
export function accountMenu(page: Page, name: string) {
  return page.locator("summary", { hasText: `${name} (account menu)` });
}

/** Opens the account menu and returns the roles it lists. */
export async function rolesShown(page: Page, name: string) {
  await accountMenu(page, name).click();
  return page.locator(".user-roles").innerText();
}
