import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { PASSWORD, accountMenu, signUp, uniqueEmail } from "../support/auth";
import { FAKE_MODEL, newChat } from "../support/chat";
import { waitForHydration } from "../support/shell";

test("a signed-out visit to a signed-in page goes through sign-in and comes back", async ({
  page,
}) => {
  const email = uniqueEmail("visitor");
  await signUp(page, email, "Vic Visitor");
  await page.context().clearCookies();

  for (const wanted of ["/chat", "/knowledge", "/admin/users"]) {
    await page.goto(wanted);
    await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent(wanted)}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sign in");
    await expect(page.getByText("This could not be shown")).toHaveCount(0);
  }

  await page.goto("/chat");
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL("/chat");
  await expect(accountMenu(page, "Vic Visitor")).toBeVisible();
  await expect(page.getByLabel("Message", { exact: true })).toBeVisible();
});

test("sign-in never sends a person off the site, whatever next says", async ({ page }) => {
  const email = uniqueEmail("careful");
  await signUp(page, email, "Cal Careful");
  await page.context().clearCookies();
  await page.goto(`/sign-in?next=${encodeURIComponent("//evil.example/phish")}`);
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(accountMenu(page, "Cal Careful")).toBeVisible();
  await expect(page).toHaveURL("/");
});

test("the home page shows a visitor the way in and a signed-in person where to start", async ({
  page,
}) => {
  await page.goto("/");
  await waitForHydration(page);
  const main = page.getByRole("main");
  await expect(main.getByRole("link", { name: "Create an account" })).toHaveAttribute(
    "href",
    "/sign-up",
  );
  // Nothing the product does not have yet is promised.
  await expect(main).not.toContainText(/compare|assistant/i);
  await expectAccessible(page);
  await main.getByRole("link", { name: "Start a chat" }).click();
  await expect(page).toHaveURL(`/sign-in?next=${encodeURIComponent("/chat")}`);

  await signUp(page, uniqueEmail("newcomer"), "Nora Newcomer");
  await expect(page).toHaveURL("/");
  await expect(page.getByRole("main")).toContainText("Hello, Nora. Where would you like to start?");
  await expectAccessible(page);
  await page.getByRole("main").getByRole("link", { name: "Start a chat" }).click();
  await expect(page).toHaveURL("/chat");
  await expect(page.getByLabel("Message", { exact: true })).toBeVisible();
});

test("sending while offline says what happened in words, and the text is kept", async ({
  page,
  context,
}) => {
  await signUp(page, uniqueEmail("offline"), "Otto Offline");
  await newChat(page, FAKE_MODEL);
  const box = page.getByLabel("Message", { exact: true });
  await context.setOffline(true);
  await box.fill("Are you there?");
  await box.press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "could not be reached" })).toHaveText(
    "The server could not be reached. Check the connection and try again.",
  );
  await expect(page.getByText(/TypeError|request failed|server function/)).toHaveCount(0);
  await context.setOffline(false);
  await expect(box).toHaveValue("Are you there?");
});
