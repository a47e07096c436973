import { expect, type Page } from "@playwright/test";

import { waitForHydration } from "./shell";

/** The models the setup project adds on the fake OpenAI server (support/fake-openai.mjs). */
export const FAKE_MODEL = "Fake chat";
export const ADMIN_ONLY_MODEL = "Admin only fake";
export const BUILTIN_MODEL = "SmolLM2 135M (tiny demo)";

/** Calls a server function from inside the page (same origin, the page's session). */
export async function serverFn(page: Page, endpoint: string, args: unknown) {
  return page.evaluate(
    async ([endpoint, args]) => {
      const response = await fetch(`/api/${endpoint}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(args),
      });
      return { status: response.status, body: await response.text() };
    },
    [endpoint, args] as const,
  );
}

/** Opens a new chat with `model` picked. */
export async function newChat(page: Page, model: string) {
  await page.goto("/chat");
  await waitForHydration(page);
  await page.getByLabel("Model").selectOption({ label: model });
}

/** Whether the page's main pointer is a finger (the phone projects). */
export async function isTouch(page: Page) {
  return page.evaluate(() => matchMedia("(pointer: coarse)").matches);
}

/** Sends what the message box holds the way a person would: Enter on a keyboard, the Send
 * button on a touch screen (where Enter starts a new line). */
export async function submitMessage(page: Page) {
  if (await isTouch(page)) {
    await page.getByRole("button", { name: "Send", exact: true }).click();
  } else {
    await page.getByLabel("Message", { exact: true }).press("Enter");
  }
}

/** Sends a message from the composer. */
export async function send(page: Page, text: string) {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await submitMessage(page);
  await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
}

/** The messages of the conversation shown, by author. */
export function replies(page: Page) {
  return page.locator("article.message.assistant");
}
