import { readFileSync } from "node:fs";

import { expect, type Page } from "@playwright/test";

import { waitForHydration } from "./shell";

/** The administrator the setup project creates on the empty database. */
export const ADMIN = { email: "first.admin@school.example", name: "First Admin" };

const port = Number(process.env.E2E_PORT ?? 3100);
/** Where the loopback mail server (support/mail-server.mjs) shows what it received. */
const mailbox = `http://127.0.0.1:${Number(process.env.E2E_MAIL_PORT ?? port + 5) + 1}`;
/** The test server's log, where it prints the first administrator's setup link. */
export const SERVER_LOG = process.env.E2E_SERVER_LOG ?? `/tmp/aistudio-e2e-${port}.log`;

type Mail = { to: string; subject: string; text: string; html: string };

/** The newest message to `to` whose subject contains `subject`, waiting for it to arrive. */
export async function mailTo(to: string, subject: string): Promise<Mail> {
  let found: Mail | undefined;
  await expect
    .poll(
      async () => {
        const response = await fetch(`${mailbox}/messages?to=${encodeURIComponent(to)}`);
        const messages = (await response.json()) as Mail[];
        found = messages.filter((m) => m.subject.includes(subject)).at(-1);
        return found !== undefined;
      },
      { message: `a message "${subject}" to ${to}`, timeout: 20_000 },
    )
    .toBe(true);
  return found!;
}

/** The link to `path` in a message's text. */
export function linkIn(mail: Mail, path: string): string {
  const match = mail.text.match(new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`));
  expect(match, `a ${path} link in "${mail.subject}"`).not.toBeNull();
  return match![0];
}

/** The one-time setup link the server printed when it started on an empty database. */
export async function setupLink(): Promise<string> {
  let link: string | undefined;
  await expect
    .poll(() => {
      link = readFileSync(SERVER_LOG, "utf8").match(
        /https?:\/\/\S+\/setup\?token=[A-Za-z0-9_-]+/,
      )?.[0];
      return link !== undefined;
    })
    .toBe(true);
  return link!;
}

/** A password that satisfies the rules. */
export const PASSWORD = "correct horse battery staple";

/** An email no other test uses. */
export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@school.example`;
}

/** Fills the sign-up form and waits for the answer that a link is on its way. */
export async function submitSignUp(page: Page, email: string, name: string) {
  await page.goto("/sign-up");
  await waitForHydration(page);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Check your inbox" })).toBeVisible();
}

/** Opens a mailed verification link in a browser that is not signed in, gives the password
 * and waits until the account is signed in. */
export async function verifyWithLink(page: Page, link: string, name: string) {
  await page.goto(link);
  await waitForHydration(page);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(accountMenu(page, name)).toBeVisible();
}

/** Signs up through the form, reads the verification mail the way a person would, opens its
 * link and waits until the new account is signed in. */
export async function signUp(page: Page, email: string, name: string) {
  await submitSignUp(page, email, name);
  const mail = await mailTo(email, "Confirm your email address");
  await verifyWithLink(page, linkIn(mail, "/verify-email"), name);
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
  return page.locator("button.user-menu-button", { hasText: `${name} (account menu)` });
}

/** Opens the account menu and returns the roles it lists. */
export async function rolesShown(page: Page, name: string) {
  await accountMenu(page, name).click();
  return page.locator(".user-roles").innerText();
}
