import { expect, test, type Locator } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signIn } from "../support/auth";
import { waitForHydration } from "../support/shell";

/**
 * Presses a button from the keyboard. After typing into a field low on the page, phone
 * emulation leaves the visual viewport scrolled, and taps land beside their target; the
 * keyboard reaches the same handler.
 */
async function press(button: Locator) {
  await button.focus();
  await button.press("Enter");
}

test("an administrator adds a provider and a model students may use", async ({
  page,
  isMobile,
}) => {
  // Phone emulation mis-places taps after typing into a long form; the phone layout of this
  // page has its own test below.
  test.skip(isMobile, "form filling is covered on desktop");
  const unique = Math.random().toString(36).slice(2, 8);
  const providerName = `Lab server ${unique}`;
  const modelName = `Llama ${unique}`;
  await signIn(page, ADMIN.email, ADMIN.name);
  await page.goto("/admin/models");
  await waitForHydration(page);
  await expectAccessible(page);

  await page.getByRole("button", { name: "Add provider" }).click();
  await page
    .getByLabel("Type", { exact: true })
    .selectOption({ label: "OpenAI or OpenAI-compatible" });
  await page.getByLabel("Name", { exact: true }).fill(providerName);
  await page.getByLabel("Base URL").fill("http://127.0.0.1:11434/v1");
  // Submitted from the keyboard, like a phone's "Go" key.
  await page.getByLabel("API key").fill("sk-e2e-secret-key");
  await page.getByLabel("API key").press("Enter");
  await expect(page.getByRole("status")).toHaveText(`Provider ${providerName} saved.`);
  const providerRow = page.getByRole("row", { name: new RegExp(providerName) });
  await expect(providerRow).toContainText("Stored");
  // The key went in and never comes back out.
  expect(await page.content()).not.toContain("sk-e2e-secret-key");

  await press(page.getByRole("button", { name: "Add model" }));
  await page.getByLabel("Provider", { exact: true }).selectOption({ label: providerName });
  await page.getByLabel("Model id at the provider").fill(`llama-${unique}`);
  await page.getByLabel("Display name").fill(modelName);
  await page.getByLabel("Output price ($ per 1M tokens)").fill("-1");
  await page.getByLabel("Output price ($ per 1M tokens)").press("Enter");
  await expect(page.getByRole("status")).toContainText("Prices are dollars per million tokens");

  await page.getByLabel("Output price ($ per 1M tokens)").fill("0.60");
  await page.getByRole("checkbox", { name: "student", exact: true }).check();
  await page.getByRole("checkbox", { name: "Vision (reads images)" }).check();
  await press(page.getByRole("button", { name: "Save model" }));
  await expect(page.getByRole("status")).toHaveText(`Model ${modelName} saved.`);
  const modelRow = page.getByRole("row", { name: new RegExp(modelName) });
  await expect(modelRow).toContainText("student");
  await expect(modelRow).toContainText("vision");
  await expect(modelRow).toContainText("$0 / $0.6 / $0");
  await expectAccessible(page);

  // It stays after a reload: it was saved, not just shown.
  await page.reload();
  await expect(page.getByRole("row", { name: new RegExp(modelName) })).toContainText("Active");
});

test("the models page fits the screen and its editors open", async ({ page }) => {
  await signIn(page, ADMIN.email, ADMIN.name);
  await page.goto("/admin/models");
  await waitForHydration(page);
  await press(page.getByRole("button", { name: "Add provider" }));
  await expect(page.getByRole("form", { name: "New provider" })).toBeVisible();
  await expect(page.getByLabel("API key")).toHaveAttribute("type", "password");
  await expectAccessible(page);
  // Wide tables scroll inside their own region; the page itself never scrolls sideways.
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - window.innerWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  await press(page.getByRole("button", { name: "Cancel" }));
  await expect(page.getByRole("form", { name: "New provider" })).toHaveCount(0);
});

test("an administrator adds an Amazon Bedrock provider with its region", async ({
  page,
  isMobile,
}) => {
  test.skip(isMobile, "form filling is covered on desktop");
  const name = `Bedrock ${Math.random().toString(36).slice(2, 8)}`;
  await signIn(page, ADMIN.email, ADMIN.name);
  await page.goto("/admin/models");
  await waitForHydration(page);

  await page.getByRole("button", { name: "Add provider" }).click();
  await expect(page.getByLabel("AWS region")).toHaveCount(0);
  await page.getByLabel("Type", { exact: true }).selectOption({ label: "Amazon Bedrock" });
  // Bedrock asks for a region, calls its address an endpoint, and says where keys come from.
  await expect(page.getByLabel("Endpoint URL")).toBeVisible();
  await expect(page.locator("#provider-api-key-hint")).toContainText("AWS credentials");
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("AWS region").fill("eu-central-1");
  await press(page.getByRole("button", { name: "Save provider" }));
  await expect(page.getByRole("status")).toHaveText(`Provider ${name} saved.`);
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("Amazon Bedrock");
  await expect(row).toContainText("eu-central-1");
  await expect(row).toContainText("The server's AWS credentials");
  await expectAccessible(page);

  // Edited, the region is still there.
  await press(row.getByRole("button", { name: /Edit/ }));
  await expect(page.getByLabel("AWS region")).toHaveValue("eu-central-1");
});
